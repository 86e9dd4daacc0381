//! API tests against the real server on a random port, on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analytics;
mod browser;
mod checkout;
mod coupons;
mod crm;
mod customers;
mod data;
mod errors;
mod helpers;
mod ledger;
mod outbox;
mod rewards;
mod routes;
mod rules;
mod segments;
mod tiers;
mod ui;
mod ui_forms;
