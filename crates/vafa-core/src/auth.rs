//! Roles and permissions: the single table that decides who may do what.
//!
//! Every HTTP route names exactly one [`Permission`]; the router refuses to serve a
//! route that has none, and `docs/permissions.md` is rendered from [`Role::allows`]
//! (a test keeps the two equal), so the documentation cannot drift from enforcement.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The role an API key (and later a staff user) acts with. One key, one program, one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Cashier,
    Partner,
    Analyst,
    /// Customer care: answers complaints, keeps promises, records calls.
    Support,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Manager,
        Role::Cashier,
        Role::Partner,
        Role::Analyst,
        Role::Support,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
            Role::Partner => "partner",
            Role::Analyst => "analyst",
            Role::Support => "support",
        }
    }

    /// The permission table. Kept as one exhaustive match so adding a permission
    /// forces a decision for every role.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Manager => !matches!(permission, AuditRead | ApiKeysManage | StaffManage),
            Role::Cashier => matches!(
                permission,
                ProgramRead
                    | CustomersRead
                    | CustomersWrite
                    | CardsRead
                    | CardsIssue
                    | CardsManage
                    | PurchasesRead
                    | PurchasesWrite
                    | PurchasesReturn
                    | PointsRedeem
                    | PointsTransfer
                    | LedgerRead
                    | EventsWrite
                    | CouponsUse
                    | CrmRead
                    | CrmWrite
            ),
            // A coalition partner identifies members, records their purchases and lets them
            // redeem; it never edits profiles, reverses purchases or adjusts balances.
            Role::Partner => matches!(
                permission,
                ProgramRead
                    | CustomersRead
                    | CardsRead
                    | PurchasesWrite
                    | PointsRedeem
                    | LedgerRead
                    | CouponsUse
            ),
            Role::Analyst => matches!(
                permission,
                ProgramRead
                    | CustomersRead
                    | CardsRead
                    | PurchasesRead
                    | LedgerRead
                    | RulesRead
                    | AnalyticsRead
                    | DataExport
                    | CrmRead
                    | StaffPerformanceRead
            ),
            Role::Support => matches!(
                permission,
                ProgramRead
                    | CustomersRead
                    | CustomersWrite
                    | CardsRead
                    | PurchasesRead
                    | LedgerRead
                    | CrmRead
                    | CrmWrite
                    | TicketsGoodwill
            ),
        }
    }
}

impl Role {
    /// The role of a new API key: any but `support`, which is a person's (a staff
    /// member signs in, and their replies and goodwill carry their name).
    pub fn for_api_key(s: &str) -> Result<Role, String> {
        match s.parse::<Role>() {
            Ok(Role::Support) => Err(
                "support is a staff role, not a key's: expected admin, manager, cashier, partner or analyst"
                    .to_owned(),
            ),
            Ok(r) => Ok(r),
            Err(_) => Err(format!(
                "unknown role {s:?}: expected admin, manager, cashier, partner or analyst"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role {0:?}: expected admin, manager, cashier, partner, analyst or support")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// What a route does, at the grain a business owner would grant it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read the program's own settings.
    ProgramRead,
    /// Find and read customer records.
    CustomersRead,
    /// Register customers and edit their profile.
    CustomersWrite,
    /// Erase a customer's personal data (the ledger stays).
    CustomersErase,
    /// Merge duplicate customer records.
    CustomersMerge,
    /// Look up cards.
    CardsRead,
    /// Issue cards and bind bearer cards to customers.
    CardsIssue,
    /// Block and replace cards.
    CardsManage,
    /// Read the audit log.
    AuditRead,
    /// Create, list and revoke API keys.
    ApiKeysManage,
    /// Change the program's settings (earning, expiry, returns, transfers).
    ProgramManage,
    /// Read purchases.
    PurchasesRead,
    /// Record purchases (which earn points and cashback).
    PurchasesWrite,
    /// Record returns (which reverse what the returned lines earned).
    PurchasesReturn,
    /// Spend a customer's points or cashback.
    PointsRedeem,
    /// Credit or debit points by hand, with a reason.
    PointsAdjust,
    /// Move points between customers.
    PointsTransfer,
    /// Read balances and ledgers.
    LedgerRead,
    /// Read campaigns and rules; simulate and backtest them.
    RulesRead,
    /// Create and edit campaigns and rules.
    RulesManage,
    /// Record non-purchase events (signup, birthday, review …) that earn by rules.
    EventsWrite,
    /// Read analytics: Pareto, customer lifetime value, churn risk.
    AnalyticsRead,
    /// Save segments and snapshot their members.
    SegmentsManage,
    /// Set the tier ladder, run its evaluation, and move customers between tiers by hand.
    TiersManage,
    /// Create coupon batches and export their codes.
    CouponsManage,
    /// Check and redeem coupon codes at the counter.
    CouponsUse,
    /// Edit the rewards catalog, cancel claims, move gifts through fulfilment.
    RewardsManage,
    /// Import customers and purchases from CSV.
    DataImport,
    /// Export customers, purchases and the ledger as CSV or JSON lines.
    DataExport,
    /// Create staff users, change their role, reset passwords, disable them.
    StaffManage,
    /// Read timelines, interactions, tasks, tickets, orders, feedback and the staff list.
    CrmRead,
    /// Record interactions, tasks and promises, tickets and replies, orders and feedback.
    CrmWrite,
    /// Set the CRM's working week, SLA targets, holidays, reply templates and webhooks;
    /// read the outbox and retry dead notifications.
    CrmManage,
    /// Grant goodwill points when resolving a ticket (up to the program's limit).
    TicketsGoodwill,
    /// Read staff performance: interactions, tickets, SLA breaches, CSAT, promises kept.
    StaffPerformanceRead,
}

impl Permission {
    pub const ALL: [Permission; 35] = [
        Permission::ProgramRead,
        Permission::CustomersRead,
        Permission::CustomersWrite,
        Permission::CustomersErase,
        Permission::CustomersMerge,
        Permission::CardsRead,
        Permission::CardsIssue,
        Permission::CardsManage,
        Permission::AuditRead,
        Permission::ApiKeysManage,
        Permission::ProgramManage,
        Permission::PurchasesRead,
        Permission::PurchasesWrite,
        Permission::PurchasesReturn,
        Permission::PointsRedeem,
        Permission::PointsAdjust,
        Permission::PointsTransfer,
        Permission::LedgerRead,
        Permission::RulesRead,
        Permission::RulesManage,
        Permission::EventsWrite,
        Permission::AnalyticsRead,
        Permission::SegmentsManage,
        Permission::TiersManage,
        Permission::CouponsManage,
        Permission::CouponsUse,
        Permission::RewardsManage,
        Permission::DataImport,
        Permission::DataExport,
        Permission::StaffManage,
        Permission::CrmRead,
        Permission::CrmWrite,
        Permission::CrmManage,
        Permission::TicketsGoodwill,
        Permission::StaffPerformanceRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ProgramRead => "program.read",
            Permission::CustomersRead => "customers.read",
            Permission::CustomersWrite => "customers.write",
            Permission::CustomersErase => "customers.erase",
            Permission::CustomersMerge => "customers.merge",
            Permission::CardsRead => "cards.read",
            Permission::CardsIssue => "cards.issue",
            Permission::CardsManage => "cards.manage",
            Permission::AuditRead => "audit.read",
            Permission::ApiKeysManage => "apikeys.manage",
            Permission::ProgramManage => "program.manage",
            Permission::PurchasesRead => "purchases.read",
            Permission::PurchasesWrite => "purchases.write",
            Permission::PurchasesReturn => "purchases.return",
            Permission::PointsRedeem => "points.redeem",
            Permission::PointsAdjust => "points.adjust",
            Permission::PointsTransfer => "points.transfer",
            Permission::LedgerRead => "ledger.read",
            Permission::RulesRead => "rules.read",
            Permission::RulesManage => "rules.manage",
            Permission::EventsWrite => "events.write",
            Permission::AnalyticsRead => "analytics.read",
            Permission::SegmentsManage => "segments.manage",
            Permission::TiersManage => "tiers.manage",
            Permission::CouponsManage => "coupons.manage",
            Permission::CouponsUse => "coupons.use",
            Permission::RewardsManage => "rewards.manage",
            Permission::DataImport => "data.import",
            Permission::DataExport => "data.export",
            Permission::StaffManage => "staff.manage",
            Permission::CrmRead => "crm.read",
            Permission::CrmWrite => "crm.write",
            Permission::CrmManage => "crm.manage",
            Permission::TicketsGoodwill => "tickets.goodwill",
            Permission::StaffPerformanceRead => "performance.read",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown permission {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
        }
    }

    #[test]
    fn only_admin_reads_audit_and_manages_keys() {
        for role in Role::ALL {
            let admin = role == Role::Admin;
            assert_eq!(role.allows(Permission::AuditRead), admin);
            assert_eq!(role.allows(Permission::ApiKeysManage), admin);
            assert_eq!(role.allows(Permission::StaffManage), admin);
        }
    }

    #[test]
    fn analysts_only_read() {
        for p in Permission::ALL {
            // An export is reading in bulk.
            let is_read = p.as_str().ends_with(".read") || p == Permission::DataExport;
            assert_eq!(
                Role::Analyst.allows(p),
                is_read && p != Permission::AuditRead,
                "{p:?}"
            );
        }
    }

    #[test]
    fn only_managers_and_admins_adjust_reverse_or_reconfigure() {
        for role in Role::ALL {
            let senior = matches!(role, Role::Admin | Role::Manager);
            assert_eq!(role.allows(Permission::PointsAdjust), senior, "{role}");
            assert_eq!(role.allows(Permission::ProgramManage), senior, "{role}");
            assert_eq!(role.allows(Permission::CrmManage), senior, "{role}");
            // Goodwill is also customer care's to give.
            let care = senior || role == Role::Support;
            assert_eq!(role.allows(Permission::TicketsGoodwill), care, "{role}");
        }
        assert!(!Role::Partner.allows(Permission::PurchasesReturn));
        assert!(Role::Partner.allows(Permission::PurchasesWrite));
    }
}
