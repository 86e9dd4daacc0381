//! Vafa's domain: value types and rules with no I/O, no async and no SQL.
//!
//! Everything here is plain data and plain functions so the rules that decide money
//! and customer identity are tested in microseconds and reused by every adapter
//! (HTTP, CLI, import) without dragging a runtime along.

pub mod analytics;
pub mod auth;
pub mod card;
pub mod checkout;
pub mod coupons;
pub mod crm;
pub mod customer;
pub mod date;
pub mod digits;
pub mod ledger;
pub mod mobile;
pub mod money;
pub mod national_id;
pub mod patch;
pub mod program;
pub mod rewards;
pub mod rules;
pub mod text;
pub mod tiers;
pub mod validate;

pub use validate::{FieldError, FieldErrors};
