//! The HTTP handlers, one module per resource. Handlers are thin: parse the request
//! into domain values, call one store operation, map the result.

pub mod analytics;
pub mod audit;
pub mod cards;
pub mod checkout;
pub mod coupons;
pub mod crm;
pub mod customers;
pub mod data;
pub mod money;
pub mod points;
pub mod program;
pub mod purchases;
pub mod rewards;
pub mod rules;
pub mod segments;
pub mod staff;
pub mod system;
pub mod tiers;
