//! Vafa's persistence: one trait of coarse, transactional operations ([`Store`]),
//! implemented for SQLite (the embedded default) and PostgreSQL (scale).
//!
//! Each operation owns its transaction: it validates state, writes the change and
//! its audit row together, and commits — callers never hold a transaction open.

mod coupons_model;
mod crm_model;
pub mod demo;
mod error;
pub mod history;
pub mod ids;
pub mod keys;
mod ledger_model;
mod model;
mod open;
mod rewards_model;
mod rules_model;
mod sql;
pub mod testing;
mod tiers_model;

pub use coupons_model::*;
pub use crm_model::*;
pub use error::StoreError;
pub use ledger_model::*;
pub use model::*;
pub use open::{open, Backend, OpenOptions};
pub use rewards_model::*;
pub use rules_model::*;
pub use tiers_model::*;

use async_trait::async_trait;
use vafa_core::auth::Role;
use vafa_core::card::CardNumber;
use vafa_core::customer::{Customer, ProfilePatch};
use vafa_core::ledger::LedgerSettings;
use vafa_core::program::NewProgram;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store: CrmStore + Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// For SQLite's group commit: (commits made, write operations they made durable).
    fn group_commit_stats(&self) -> Option<(u64, u64)> {
        None
    }
    /// For SQLite's purchase writer: time spent running operations, and committing
    /// them, in microseconds since the store opened.
    fn writer_timing(&self) -> Option<(u64, u64)> {
        None
    }
    /// A cheap round trip proving the database answers.
    async fn health(&self) -> Result<()>;
    /// Migration versions applied to this database, ascending.
    async fn applied_migrations(&self) -> Result<Vec<i64>>;

    /// Open a program and its first admin key (returned once, in clear).
    async fn create_program(
        &self,
        program: &NewProgram,
        ctx: &SystemCtx,
    ) -> Result<(Program, IssuedKey)>;
    async fn get_program(&self, program_id: &str) -> Result<Option<Program>>;

    async fn create_api_key(&self, ctx: &Ctx, role: Role, name: Option<&str>) -> Result<IssuedKey>;
    async fn list_api_keys(&self, program_id: &str) -> Result<Vec<ApiKeyInfo>>;
    async fn revoke_api_key(&self, ctx: &Ctx, key_id: &str) -> Result<ApiKeyInfo>;
    /// The principal behind a presented bearer token, if it is a live key or a staff
    /// session live at `now`.
    async fn authenticate(
        &self,
        presented: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<Principal>>;

    async fn create_customer(&self, ctx: &Ctx, profile: ProfilePatch) -> Result<Customer>;
    async fn get_customer(&self, program_id: &str, id: &str) -> Result<Option<Customer>>;
    async fn update_customer(&self, ctx: &Ctx, id: &str, patch: ProfilePatch) -> Result<Customer>;
    async fn list_customers(
        &self,
        program_id: &str,
        query: &CustomerQuery,
    ) -> Result<Page<Customer>>;
    /// Drop personal data; the id, cards, purchases and ledger stay.
    async fn erase_customer(&self, ctx: &Ctx, id: &str) -> Result<Customer>;
    /// Move everything of `duplicate_id` to `survivor_id` and mark the duplicate merged.
    async fn merge_customers(
        &self,
        ctx: &Ctx,
        survivor_id: &str,
        duplicate_id: &str,
    ) -> Result<MergeOutcome>;

    async fn issue_cards(&self, ctx: &Ctx, request: &IssueCards) -> Result<Vec<Card>>;
    async fn get_card(&self, program_id: &str, number: &CardNumber) -> Result<Option<CardDetail>>;
    async fn customer_cards(&self, program_id: &str, customer_id: &str) -> Result<Vec<Card>>;
    async fn bind_card(&self, ctx: &Ctx, number: &CardNumber, customer_id: &str) -> Result<Card>;
    async fn block_card(&self, ctx: &Ctx, number: &CardNumber, reason: &str) -> Result<Card>;
    /// Block the card and issue its successor to the same holder, in one step.
    async fn replace_card(
        &self,
        ctx: &Ctx,
        number: &CardNumber,
        reason: &str,
    ) -> Result<CardReplacement>;

    async fn list_audit(&self, program_id: &str, page: &PageRequest) -> Result<Page<AuditEntry>>;

    async fn ledger_settings(&self, program_id: &str) -> Result<LedgerSettings>;
    async fn set_ledger_settings(
        &self,
        ctx: &Ctx,
        settings: &LedgerSettings,
    ) -> Result<LedgerSettings>;
    /// Record a purchase and what it earns, in one transaction.
    async fn post_purchase(
        &self,
        ctx: &Ctx,
        purchase: &NewPurchase,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<PurchaseOutcome>>;
    async fn get_purchase(&self, program_id: &str, id: &str) -> Result<Option<PurchaseDetail>>;
    /// A customer's purchases, newest recorded first.
    async fn customer_purchases(
        &self,
        program_id: &str,
        customer_id: &str,
        page: &PageRequest,
    ) -> Result<Page<PurchaseSummary>>;
    async fn return_purchase(
        &self,
        ctx: &Ctx,
        purchase_id: &str,
        request: &ReturnRequest,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<ReturnOutcome>>;
    async fn redeem(
        &self,
        ctx: &Ctx,
        customer_id: &str,
        spend: Spend,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<RedemptionOutcome>>;
    /// A manual credit (positive) or debit (negative) with a reason; audited.
    async fn adjust(
        &self,
        ctx: &Ctx,
        customer_id: &str,
        points: i64,
        reason: &str,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<AdjustmentOutcome>>;
    async fn transfer(
        &self,
        ctx: &Ctx,
        from: &str,
        to: &str,
        points: i64,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<TransferOutcome>>;
    /// The balance at `at` (any instant: pending and expiry are computed, not waited for).
    async fn balance(
        &self,
        program_id: &str,
        customer_id: &str,
        at: jiff::Timestamp,
    ) -> Result<BalanceSnapshot>;
    async fn customer_ledger(
        &self,
        program_id: &str,
        customer_id: &str,
        page: &PageRequest,
    ) -> Result<Page<LedgerLine>>;
    /// Post the expiry of lots expired by `now`, in batches of at most `batch` lots; an
    /// empty `program_id` means every program. Idempotent: expired lots are left empty.
    async fn expire_lots(
        &self,
        program_id: &str,
        now: jiff::Timestamp,
        batch: u32,
        max_batches: u32,
    ) -> Result<ExpiryRun>;
    /// Write a chunk of history made by a [`history::Book`], in one transaction.
    async fn write_history(&self, ctx: &Ctx, rows: &history::HistoryRows) -> Result<()>;
    /// Bring the planner's statistics up to date after bulk writes (PostgreSQL's
    /// `ANALYZE`; SQLite plans these lookups by its unique indexes without them).
    async fn refresh_statistics(&self) -> Result<()>;
    /// Which of `values` are already taken in `column`: value → customer id.
    async fn refs(
        &self,
        program_id: &str,
        column: history::RefColumn,
        values: &[String],
    ) -> Result<std::collections::HashMap<String, String>>;
    /// A page of an export after the id `after`, in id order (`docs/import-export.md`).
    async fn export_page(
        &self,
        program_id: &str,
        table: history::ExportTable,
        after: &str,
        limit: u32,
    ) -> Result<history::ExportRows>;
    /// Recompute balances, lots and zero sums from the postings.
    async fn verify_ledger(&self, program_id: Option<&str>) -> Result<VerifyReport>;

    // ---- campaigns and rules ----
    async fn list_campaigns(&self, program_id: &str) -> Result<Vec<CampaignRecord>>;
    async fn get_campaign(&self, program_id: &str, id: &str) -> Result<Option<CampaignRecord>>;
    /// A campaign and its first rules (definitions validated by the caller).
    async fn create_campaign(
        &self,
        ctx: &Ctx,
        def: &vafa_core::rules::CampaignDef,
        rules: &[vafa_core::rules::RuleDef],
    ) -> Result<CampaignRecord>;
    /// New settings for a campaign (a new campaign version; audited).
    async fn update_campaign(
        &self,
        ctx: &Ctx,
        id: &str,
        def: &vafa_core::rules::CampaignDef,
    ) -> Result<CampaignRecord>;
    async fn add_rule(
        &self,
        ctx: &Ctx,
        campaign_id: &str,
        def: &vafa_core::rules::RuleDef,
    ) -> Result<RuleRecord>;
    /// A new version of a rule: a new definition, or retired (`active` false).
    async fn update_rule(
        &self,
        ctx: &Ctx,
        id: &str,
        def: Option<&vafa_core::rules::RuleDef>,
        active: bool,
    ) -> Result<RuleRecord>;
    /// A rule and all its versions, newest first.
    async fn rule_versions(
        &self,
        program_id: &str,
        id: &str,
    ) -> Result<Option<(RuleRecord, Vec<RuleVersion>)>>;
    /// What a purchase would earn; writes nothing.
    async fn simulate(&self, program_id: &str, req: &SimulateRequest) -> Result<Simulation>;
    /// The customer a request names, found as a purchase finds them (`None`: a bearer
    /// card not bound to anyone); `NotFound` when it names nobody.
    async fn resolve_customer(&self, program_id: &str, who: &CustomerRef)
        -> Result<Option<String>>;
    /// A non-purchase event, earning by the event rules.
    async fn post_event(
        &self,
        ctx: &Ctx,
        event: &NewEvent,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<EventOutcome>>;
    /// A draft rule set replayed over the stored purchases of a range.
    async fn backtest(&self, program_id: &str, req: &BacktestRequest) -> Result<BacktestReport>;

    // ---- analytics ----
    /// Every purchase before `before`: customer, time and amount net of returns.
    async fn purchase_rows(
        &self,
        program_id: &str,
        before: jiff::Timestamp,
    ) -> Result<Vec<SalesRow>>;
    /// Per customer who bought in `[from, to)`: purchases, net revenue, first and last.
    async fn customer_aggregates(
        &self,
        program_id: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<CustomerAggregate>>;
    /// Points issued (net of return reversals), redeemed and expired in `[from, to)`.
    async fn points_flows(
        &self,
        program_id: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<PointsFlows>;
    /// The points outstanding now, by expiry bucket relative to `at`.
    async fn liability(&self, program_id: &str, at: jiff::Timestamp) -> Result<Liability>;
    /// Active customers created before `at`.
    async fn active_members(&self, program_id: &str, at: jiff::Timestamp) -> Result<i64>;

    // ---- segments ----
    async fn create_segment(
        &self,
        ctx: &Ctx,
        def: &vafa_core::analytics::segment::SegmentDef,
    ) -> Result<SegmentRecord>;
    /// Every segment, or only `only`.
    async fn list_segments(
        &self,
        program_id: &str,
        only: Option<&str>,
    ) -> Result<Vec<SegmentRecord>>;
    /// Every open customer who existed at `at`, with the facts segment conditions read
    /// (purchases and revenue before `at`; profile, balance as now).
    async fn segment_population(
        &self,
        program_id: &str,
        at: jiff::Timestamp,
    ) -> Result<Vec<SegmentCandidate>>;
    async fn save_snapshot(
        &self,
        ctx: &Ctx,
        segment_id: &str,
        at: jiff::Timestamp,
        members: &[String],
    ) -> Result<SnapshotRecord>;
    async fn snapshot_members(
        &self,
        program_id: &str,
        snapshot_id: &str,
    ) -> Result<Option<(SnapshotRecord, Vec<String>)>>;

    // ---- tiers ----
    async fn tier_ladder(&self, program_id: &str) -> Result<Option<vafa_core::tiers::TierLadder>>;
    /// Active customers per tier code; customers without a tier row are counted under
    /// `None` (the ladder's first tier, or no ladder).
    async fn tier_counts(&self, program_id: &str) -> Result<Vec<(Option<String>, i64)>>;
    /// Replace the program's ladder (validated by the caller). Customers on a tier the
    /// new ladder lacks count as its first tier until they move.
    async fn set_tier_ladder(
        &self,
        ctx: &Ctx,
        ladder: &vafa_core::tiers::TierLadder,
    ) -> Result<vafa_core::tiers::TierLadder>;
    /// Where the customer stands at `now`; `None` when the program has no ladder.
    async fn customer_tier(
        &self,
        program_id: &str,
        customer_id: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<CustomerTier>>;
    /// Every change of the customer's tier, newest first.
    async fn tier_history(&self, program_id: &str, customer_id: &str) -> Result<Vec<TierChange>>;
    /// A manual tier change with its reason (audited); no entry gift.
    async fn override_tier(
        &self,
        ctx: &Ctx,
        customer_id: &str,
        change: &TierOverride,
    ) -> Result<TierChange>;
    /// The periodic evaluation of one program at `ctx.now`.
    async fn evaluate_tiers(&self, ctx: &Ctx) -> Result<TierRun>;
    /// Programs that have a ladder, for the evaluation job.
    async fn tier_programs(&self) -> Result<Vec<String>>;

    // ---- coupons ----
    /// Create a batch and generate its codes in chunks, each its own transaction;
    /// `progress` hears the number generated so far.
    async fn create_coupon_batch(
        &self,
        ctx: &Ctx,
        batch: &NewCouponBatch,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<CouponBatch>;
    async fn list_coupon_batches(&self, program_id: &str) -> Result<Vec<CouponBatch>>;
    async fn get_coupon_batch(&self, program_id: &str, id: &str) -> Result<Option<CouponBatch>>;
    /// A page of a batch's codes after `after`, with their uses.
    async fn coupon_codes(
        &self,
        program_id: &str,
        batch_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, i64)>>;
    /// What `code` would give this customer and cart now; writes nothing.
    async fn check_coupon(
        &self,
        program_id: &str,
        code: &str,
        customer_id: Option<&str>,
        cart: &CouponCart,
        at: jiff::Timestamp,
    ) -> Result<CouponUse>;
    /// Use `code` once for this customer and cart: exactly as many uses succeed as the
    /// code allows, whatever the concurrency.
    async fn redeem_coupon(
        &self,
        ctx: &Ctx,
        code: &str,
        customer_id: &str,
        cart: &CouponCart,
        purchase_id: Option<&str>,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<CouponUse>>;

    // ---- rewards ----
    async fn create_reward(&self, ctx: &Ctx, def: &vafa_core::rewards::RewardDef)
        -> Result<Reward>;
    async fn list_rewards(&self, program_id: &str) -> Result<Vec<Reward>>;
    async fn get_reward(&self, program_id: &str, id: &str) -> Result<Option<Reward>>;
    /// Take a reward out of the catalog; claims already made stay valid.
    async fn retire_reward(&self, ctx: &Ctx, id: &str) -> Result<Reward>;
    /// Spend the customer's points on a reward: one journal entry, a unit of stock, and
    /// a unique code valid for the reward's `code_valid_days`.
    async fn claim_reward(
        &self,
        ctx: &Ctx,
        reward_id: &str,
        customer_id: &str,
        idem: Option<&Idempotency>,
    ) -> Result<Replayed<RewardClaim>>;
    /// The counter consumes a claim's code: once, before it expires.
    async fn use_reward_code(&self, ctx: &Ctx, code: &str) -> Result<RewardClaim>;
    /// Cancel an unused claim: its points come back (a new lot) and its unit of stock.
    async fn cancel_reward_claim(
        &self,
        ctx: &Ctx,
        claim_id: &str,
        reason: &str,
    ) -> Result<RewardClaim>;
    /// Move a physical gift's fulfilment along.
    async fn set_reward_fulfilment(
        &self,
        ctx: &Ctx,
        claim_id: &str,
        status: &str,
    ) -> Result<RewardClaim>;
    async fn customer_reward_claims(
        &self,
        program_id: &str,
        customer_id: &str,
    ) -> Result<Vec<RewardClaim>>;
    async fn get_reward_claim(
        &self,
        program_id: &str,
        claim_id: &str,
    ) -> Result<Option<RewardClaim>>;
    /// The claim behind a code, for the counter to validate before using it.
    async fn reward_claim_by_code(
        &self,
        program_id: &str,
        code: &str,
    ) -> Result<Option<RewardClaim>>;
}

/// The migration versions each backend's tree holds, for the test that keeps them equal.
pub fn migration_versions() -> (Vec<i64>, Vec<i64>) {
    let versions = |m: &sqlx::migrate::Migrator| m.iter().map(|m| m.version).collect();
    (
        versions(&sql::sqlite::MIGRATOR),
        versions(&sql::postgres::MIGRATOR),
    )
}
