//! Analytics maths over purchase histories: no I/O, exact where money is concerned
//! (integers), floating point only in the statistical models.

pub mod clv;
pub mod kpi;
pub mod pareto;
pub mod rfm;
pub mod segment;

#[cfg(test)]
mod tests;
