//! The [`Store`] trait over the per-backend inherent operations.

macro_rules! store_impl {
    ($db:ty, $backend:expr, $lock:literal) => {
        use crate::coupons_model::*;
        use crate::crm_model::*;
        use crate::ids::{self, new_id};
        use crate::ledger_model::*;
        use crate::model::*;
        use crate::rewards_model::*;
        use crate::rules_model::*;
        use crate::sql::cards::{
            card_ops, random_card_number, CARD_COLUMNS, INSERT_CHUNK, ISSUE_ATTEMPTS,
        };
        use crate::sql::customers::{customer_ops, page_cursor, push_free_text, CUSTOMER_COLUMNS};
        use crate::sql::db::{self, Db};
        use crate::sql::from_micros;
        use crate::sql::keys::key_ops;
        use crate::sql::ledger::{ledger_ops, return_dues, Dues};
        use crate::sql::ledger_more::ledger_more_ops;
        use crate::sql::ledger_read::ledger_read_ops;
        use crate::sql::ledger_support::*;
        use crate::sql::rows::*;
        use crate::sql::rules::{decode_def, rules_ops};
        use crate::sql::store_impl::retry_race;
        use crate::sql::{classify, classify_error, is_card_number_clash, micros, SqlStore};
        use crate::tiers_model::*;
        use crate::{keys, Backend, Result, Store};
        use vafa_core::auth::Role;
        use vafa_core::card::CardNumber;
        use vafa_core::customer::{Channel, Customer, CustomerStatus, ProfilePatch};
        use vafa_core::ledger::LedgerSettings;
        use vafa_core::program::NewProgram;
        use vafa_core::rules::{CampaignDef, RuleDef};

        customer_ops!($db, $lock);
        card_ops!($db, $lock);
        key_ops!($db);
        ledger_ops!($db, $lock);
        ledger_more_ops!($db, $lock);
        ledger_read_ops!($db);
        rules_ops!($db, $lock);
        crate::sql::analytics::analytics_ops!($db);
        crate::sql::tiers::tier_ops!($db, $lock);
        crate::sql::coupons::coupon_ops!($db, $lock);
        crate::sql::rewards::reward_ops!($db, $lock);
        crate::sql::history::history_ops!($db);
        crate::sql::crm::crm_ops!($db, $lock);
        crate::sql::tickets::ticket_ops!($db, $lock);
        crate::sql::outbox::outbox_ops!($db, $lock);
        crate::sql::timeline::timeline_ops!($db);

        #[async_trait::async_trait]
        impl CrmStore for SqlStore<$db> {
            async fn create_staff(&self, ctx: &Ctx, staff: &NewStaff) -> Result<StaffMember> {
                self.create_staff_op(ctx, staff).await
            }
            async fn list_staff(&self, program_id: &str) -> Result<Vec<StaffMember>> {
                self.list_staff_op(program_id).await
            }
            async fn get_staff(&self, program_id: &str, id: &str) -> Result<Option<StaffMember>> {
                self.get_staff_op(program_id, id).await
            }
            async fn update_staff(
                &self,
                ctx: &Ctx,
                id: &str,
                patch: &StaffPatch,
            ) -> Result<StaffMember> {
                self.update_staff_op(ctx, id, patch).await
            }
            async fn staff_credentials(&self, username: &str) -> Result<Option<StaffCredentials>> {
                self.staff_credentials_op(username).await
            }
            async fn start_session(
                &self,
                staff_id: &str,
                now: jiff::Timestamp,
                ttl: jiff::SignedDuration,
            ) -> Result<IssuedSession> {
                self.start_session_op(staff_id, now, ttl).await
            }
            async fn end_session(&self, presented: &str, now: jiff::Timestamp) -> Result<()> {
                self.end_session_op(presented, now).await
            }
            async fn session_csrf(
                &self,
                presented: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<String>> {
                self.session_csrf_op(presented, now).await
            }
            async fn crm_settings(&self, program_id: &str) -> Result<CrmSettings> {
                self.crm_settings_op(program_id).await
            }
            async fn set_crm_settings(
                &self,
                ctx: &Ctx,
                settings: &CrmSettings,
            ) -> Result<CrmSettings> {
                self.set_crm_settings_op(ctx, settings).await
            }
            async fn display_settings(&self, program_id: &str) -> Result<DisplaySettings> {
                self.display_settings_op(program_id).await
            }
            async fn set_display_settings(
                &self,
                ctx: &Ctx,
                settings: &DisplaySettings,
            ) -> Result<DisplaySettings> {
                self.set_display_settings_op(ctx, settings).await
            }
            async fn holidays(&self, program_id: &str) -> Result<Vec<Holiday>> {
                self.holidays_op(program_id).await
            }
            async fn set_holiday(&self, ctx: &Ctx, holiday: &Holiday) -> Result<()> {
                self.set_holiday_op(ctx, holiday).await
            }
            async fn delete_holiday(&self, ctx: &Ctx, day: jiff::civil::Date) -> Result<()> {
                self.delete_holiday_op(ctx, day).await
            }
            async fn reply_templates(
                &self,
                program_id: &str,
            ) -> Result<Vec<vafa_core::crm::ReplyTemplate>> {
                self.reply_templates_op(program_id).await
            }
            async fn set_reply_template(
                &self,
                ctx: &Ctx,
                template: &vafa_core::crm::ReplyTemplate,
            ) -> Result<()> {
                self.set_reply_template_op(ctx, template).await
            }
            async fn record_interaction(
                &self,
                ctx: &Ctx,
                i: &NewInteraction,
            ) -> Result<Interaction> {
                self.record_interaction_op(ctx, i).await
            }
            async fn customer_interactions(
                &self,
                program_id: &str,
                customer_id: &str,
                page: &PageRequest,
            ) -> Result<Page<Interaction>> {
                self.customer_interactions_op(program_id, customer_id, page)
                    .await
            }
            async fn create_task(&self, ctx: &Ctx, task: &NewTask) -> Result<Task> {
                self.create_task_op(ctx, task).await
            }
            async fn get_task(
                &self,
                program_id: &str,
                id: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<Task>> {
                self.get_task_op(program_id, id, now).await
            }
            async fn list_tasks(
                &self,
                program_id: &str,
                query: &TaskQuery,
                now: jiff::Timestamp,
            ) -> Result<Page<Task>> {
                self.list_tasks_op(program_id, query, now).await
            }
            async fn close_task(
                &self,
                ctx: &Ctx,
                id: &str,
                status: vafa_core::crm::TaskStatus,
                note: Option<&str>,
            ) -> Result<Task> {
                self.close_task_op(ctx, id, status, note).await
            }
            async fn open_ticket(&self, ctx: &Ctx, ticket: &NewTicket) -> Result<TicketDetail> {
                self.open_ticket_op(ctx, ticket).await
            }
            async fn get_ticket(
                &self,
                program_id: &str,
                id: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<TicketDetail>> {
                self.get_ticket_op(program_id, id, now).await
            }
            async fn list_tickets(
                &self,
                program_id: &str,
                query: &TicketQuery,
                now: jiff::Timestamp,
            ) -> Result<Page<Ticket>> {
                self.list_tickets_op(program_id, query, now).await
            }
            async fn change_ticket(
                &self,
                ctx: &Ctx,
                id: &str,
                change: &TicketChange,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<TicketDetail>> {
                retry_race(
                    || self.change_ticket_op(ctx, id, change, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn record_feedback(&self, ctx: &Ctx, f: &NewFeedback) -> Result<Feedback> {
                self.record_feedback_op(ctx, f).await
            }
            async fn list_feedback(
                &self,
                program_id: &str,
                query: &FeedbackQuery,
            ) -> Result<Page<Feedback>> {
                self.list_feedback_op(program_id, query).await
            }
            async fn feedback_form(&self, token: &str) -> Result<Option<FeedbackForm>> {
                self.feedback_form_op(token).await
            }
            async fn answer_feedback(
                &self,
                token: &str,
                score: i64,
                comment: Option<&str>,
                now: jiff::Timestamp,
            ) -> Result<Feedback> {
                self.answer_feedback_op(token, score, comment, now).await
            }
            async fn create_order(&self, ctx: &Ctx, order: &NewOrder) -> Result<Order> {
                self.create_order_op(ctx, order).await
            }
            async fn get_order(&self, program_id: &str, id: &str) -> Result<Option<Order>> {
                self.get_order_op(program_id, id).await
            }
            async fn customer_orders(
                &self,
                program_id: &str,
                customer_id: &str,
            ) -> Result<Vec<Order>> {
                self.customer_orders_op(program_id, customer_id).await
            }
            async fn set_order_stage(
                &self,
                ctx: &Ctx,
                id: &str,
                stage: &str,
                note: Option<&str>,
            ) -> Result<Order> {
                self.set_order_stage_op(ctx, id, stage, note).await
            }
            async fn create_webhook(
                &self,
                ctx: &Ctx,
                url: &str,
                events: &[String],
            ) -> Result<Webhook> {
                self.create_webhook_op(ctx, url, events).await
            }
            async fn list_webhooks(&self, program_id: &str) -> Result<Vec<Webhook>> {
                self.list_webhooks_op(program_id).await
            }
            async fn disable_webhook(&self, ctx: &Ctx, id: &str) -> Result<Webhook> {
                self.disable_webhook_op(ctx, id).await
            }
            async fn claim_outbox(
                &self,
                program_id: Option<&str>,
                now: jiff::Timestamp,
                lease: jiff::SignedDuration,
                limit: u32,
            ) -> Result<Vec<OutboxMessage>> {
                self.claim_outbox_op(program_id, now, lease, limit).await
            }
            async fn outbox_delivered(
                &self,
                id: &str,
                lease_id: &str,
                now: jiff::Timestamp,
            ) -> Result<bool> {
                self.outbox_delivered_op(id, lease_id, now).await
            }
            async fn outbox_failed(
                &self,
                id: &str,
                lease_id: &str,
                error: &str,
                retry_at: Option<jiff::Timestamp>,
            ) -> Result<bool> {
                self.outbox_failed_op(id, lease_id, error, retry_at).await
            }
            async fn list_outbox(
                &self,
                program_id: &str,
                status: Option<&str>,
                page: &PageRequest,
            ) -> Result<Page<OutboxMessage>> {
                self.list_outbox_op(program_id, status, page).await
            }
            async fn retry_outbox(&self, ctx: &Ctx, id: &str) -> Result<OutboxMessage> {
                self.retry_outbox_op(ctx, id).await
            }
            async fn customer_timeline(
                &self,
                program_id: &str,
                customer_id: &str,
                page: &PageRequest,
            ) -> Result<Page<TimelineItem>> {
                self.customer_timeline_op(program_id, customer_id, page)
                    .await
            }
            async fn staff_performance(
                &self,
                program_id: &str,
                from: jiff::Timestamp,
                to: jiff::Timestamp,
                now: jiff::Timestamp,
            ) -> Result<Vec<StaffPerformance>> {
                self.staff_performance_op(program_id, from, to, now).await
            }
        }

        #[async_trait::async_trait]
        impl Store for SqlStore<$db> {
            fn backend(&self) -> Backend {
                $backend
            }
            fn group_commit_stats(&self) -> Option<(u64, u64)> {
                self.group.as_ref().map(|g| g.stats())
            }
            fn writer_timing(&self) -> Option<(u64, u64)> {
                self.lite.as_ref().map(|l| l.timing())
            }
            async fn health(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.read).await?;
                Ok(())
            }
            async fn applied_migrations(&self) -> Result<Vec<i64>> {
                let rows: Vec<(i64,)> = sqlx::query_as(
                    "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
                )
                .fetch_all(&self.read)
                .await?;
                Ok(rows.into_iter().map(|(v,)| v).collect())
            }
            async fn create_program(
                &self,
                p: &NewProgram,
                sys: &SystemCtx,
            ) -> Result<(Program, IssuedKey)> {
                self.create_program_op(p, sys).await
            }
            async fn get_program(&self, program_id: &str) -> Result<Option<Program>> {
                self.get_program_op(program_id).await
            }
            async fn create_api_key(
                &self,
                ctx: &Ctx,
                role: Role,
                name: Option<&str>,
            ) -> Result<IssuedKey> {
                self.create_api_key_op(ctx, role, name).await
            }
            async fn list_api_keys(&self, program_id: &str) -> Result<Vec<ApiKeyInfo>> {
                self.list_api_keys_op(program_id).await
            }
            async fn revoke_api_key(&self, ctx: &Ctx, key_id: &str) -> Result<ApiKeyInfo> {
                self.revoke_api_key_op(ctx, key_id).await
            }
            async fn authenticate(
                &self,
                presented: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<Principal>> {
                self.authenticate_op(presented, now).await
            }
            async fn create_customer(&self, ctx: &Ctx, profile: ProfilePatch) -> Result<Customer> {
                self.create_customer_op(ctx, profile).await
            }
            async fn get_customer(&self, program_id: &str, id: &str) -> Result<Option<Customer>> {
                let mut conn = self.read.acquire().await?;
                Self::load_customer(&mut conn, program_id, id, false).await
            }
            async fn update_customer(
                &self,
                ctx: &Ctx,
                id: &str,
                patch: ProfilePatch,
            ) -> Result<Customer> {
                self.update_customer_op(ctx, id, patch).await
            }
            async fn list_customers(
                &self,
                program_id: &str,
                query: &CustomerQuery,
            ) -> Result<Page<Customer>> {
                self.list_customers_op(program_id, query).await
            }
            async fn erase_customer(&self, ctx: &Ctx, id: &str) -> Result<Customer> {
                self.erase_customer_op(ctx, id).await
            }
            async fn merge_customers(
                &self,
                ctx: &Ctx,
                survivor_id: &str,
                duplicate_id: &str,
            ) -> Result<MergeOutcome> {
                self.merge_customers_op(ctx, survivor_id, duplicate_id)
                    .await
            }
            async fn issue_cards(&self, ctx: &Ctx, request: &IssueCards) -> Result<Vec<Card>> {
                self.issue_cards_op(ctx, request).await
            }
            async fn get_card(
                &self,
                program_id: &str,
                number: &CardNumber,
            ) -> Result<Option<CardDetail>> {
                self.get_card_op(program_id, number).await
            }
            async fn customer_cards(
                &self,
                program_id: &str,
                customer_id: &str,
            ) -> Result<Vec<Card>> {
                self.customer_cards_op(program_id, customer_id).await
            }
            async fn bind_card(
                &self,
                ctx: &Ctx,
                number: &CardNumber,
                customer_id: &str,
            ) -> Result<Card> {
                self.bind_card_op(ctx, number, customer_id).await
            }
            async fn block_card(
                &self,
                ctx: &Ctx,
                number: &CardNumber,
                reason: &str,
            ) -> Result<Card> {
                self.block_card_op(ctx, number, reason).await
            }
            async fn replace_card(
                &self,
                ctx: &Ctx,
                number: &CardNumber,
                reason: &str,
            ) -> Result<CardReplacement> {
                self.replace_card_op(ctx, number, reason).await
            }
            async fn list_audit(
                &self,
                program_id: &str,
                page: &PageRequest,
            ) -> Result<Page<AuditEntry>> {
                self.list_audit_op(program_id, page).await
            }
            async fn ledger_settings(&self, program_id: &str) -> Result<LedgerSettings> {
                self.ledger_settings_op(program_id).await
            }
            async fn set_ledger_settings(
                &self,
                ctx: &Ctx,
                s: &LedgerSettings,
            ) -> Result<LedgerSettings> {
                self.set_ledger_settings_op(ctx, s).await
            }
            async fn post_purchase(
                &self,
                ctx: &Ctx,
                p: &NewPurchase,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<PurchaseOutcome>> {
                retry_race(
                    || self.post_purchase_op(ctx, p, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn get_purchase(
                &self,
                program_id: &str,
                id: &str,
            ) -> Result<Option<PurchaseDetail>> {
                self.get_purchase_op(program_id, id).await
            }
            async fn customer_purchases(
                &self,
                program_id: &str,
                customer_id: &str,
                page: &PageRequest,
            ) -> Result<Page<PurchaseSummary>> {
                self.customer_purchases_op(program_id, customer_id, page)
                    .await
            }
            async fn return_purchase(
                &self,
                ctx: &Ctx,
                id: &str,
                r: &ReturnRequest,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<ReturnOutcome>> {
                retry_race(
                    || self.return_purchase_op(ctx, id, r, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn redeem(
                &self,
                ctx: &Ctx,
                customer_id: &str,
                spend: Spend,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<RedemptionOutcome>> {
                retry_race(
                    || self.redeem_op(ctx, customer_id, spend, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn adjust(
                &self,
                ctx: &Ctx,
                customer_id: &str,
                points: i64,
                reason: &str,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<AdjustmentOutcome>> {
                retry_race(
                    || self.adjust_op(ctx, customer_id, points, reason, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn transfer(
                &self,
                ctx: &Ctx,
                from: &str,
                to: &str,
                points: i64,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<TransferOutcome>> {
                retry_race(
                    || self.transfer_op(ctx, from, to, points, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn balance(
                &self,
                program_id: &str,
                customer_id: &str,
                at: jiff::Timestamp,
            ) -> Result<BalanceSnapshot> {
                self.balance_op(program_id, customer_id, at).await
            }
            async fn customer_ledger(
                &self,
                program_id: &str,
                customer_id: &str,
                page: &PageRequest,
            ) -> Result<Page<LedgerLine>> {
                self.customer_ledger_op(program_id, customer_id, page).await
            }
            async fn expire_lots(
                &self,
                program_id: &str,
                now: jiff::Timestamp,
                batch: u32,
                max_batches: u32,
            ) -> Result<ExpiryRun> {
                self.expire_lots_op(program_id, now, batch, max_batches)
                    .await
            }
            async fn write_history(
                &self,
                ctx: &Ctx,
                rows: &crate::history::HistoryRows,
            ) -> Result<()> {
                self.write_history_op(ctx, rows).await
            }
            async fn refresh_statistics(&self) -> Result<()> {
                if self.sqlite_path.is_none() {
                    sqlx::query("ANALYZE customers, purchases")
                        .execute(&self.write)
                        .await?;
                }
                Ok(())
            }
            async fn refs(
                &self,
                program_id: &str,
                column: crate::history::RefColumn,
                values: &[String],
            ) -> Result<std::collections::HashMap<String, String>> {
                self.customer_refs_op(program_id, column, values).await
            }
            async fn export_page(
                &self,
                program_id: &str,
                table: crate::history::ExportTable,
                after: &str,
                limit: u32,
            ) -> Result<crate::history::ExportRows> {
                self.export_page_op(program_id, table, after, limit).await
            }
            async fn verify_ledger(&self, program_id: Option<&str>) -> Result<VerifyReport> {
                self.verify_ledger_op(program_id).await
            }
            async fn list_campaigns(&self, program_id: &str) -> Result<Vec<CampaignRecord>> {
                self.list_campaigns_op(program_id).await
            }
            async fn get_campaign(
                &self,
                program_id: &str,
                id: &str,
            ) -> Result<Option<CampaignRecord>> {
                self.get_campaign_op(program_id, id).await
            }
            async fn create_campaign(
                &self,
                ctx: &Ctx,
                def: &CampaignDef,
                rules: &[RuleDef],
            ) -> Result<CampaignRecord> {
                self.create_campaign_op(ctx, def, rules).await
            }
            async fn update_campaign(
                &self,
                ctx: &Ctx,
                id: &str,
                def: &CampaignDef,
            ) -> Result<CampaignRecord> {
                self.update_campaign_op(ctx, id, def).await
            }
            async fn add_rule(
                &self,
                ctx: &Ctx,
                campaign_id: &str,
                def: &RuleDef,
            ) -> Result<RuleRecord> {
                self.add_rule_op(ctx, campaign_id, def).await
            }
            async fn update_rule(
                &self,
                ctx: &Ctx,
                id: &str,
                def: Option<&RuleDef>,
                active: bool,
            ) -> Result<RuleRecord> {
                self.update_rule_op(ctx, id, def, active).await
            }
            async fn rule_versions(
                &self,
                program_id: &str,
                id: &str,
            ) -> Result<Option<(RuleRecord, Vec<RuleVersion>)>> {
                self.rule_versions_op(program_id, id).await
            }
            async fn simulate(
                &self,
                program_id: &str,
                req: &SimulateRequest,
            ) -> Result<Simulation> {
                self.simulate_op(program_id, req).await
            }
            async fn resolve_customer(
                &self,
                program_id: &str,
                who: &CustomerRef,
            ) -> Result<Option<String>> {
                let mut conn = self.read.acquire().await?;
                Self::find_customer(&mut conn, program_id, who).await
            }
            async fn post_event(
                &self,
                ctx: &Ctx,
                event: &NewEvent,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<EventOutcome>> {
                retry_race(
                    || self.post_event_op(ctx, event, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn backtest(
                &self,
                program_id: &str,
                req: &BacktestRequest,
            ) -> Result<BacktestReport> {
                self.backtest_op(program_id, req).await
            }
            async fn purchase_rows(
                &self,
                program_id: &str,
                before: jiff::Timestamp,
            ) -> Result<Vec<SalesRow>> {
                self.bulk_purchase_rows(program_id, before).await
            }
            async fn customer_aggregates(
                &self,
                program_id: &str,
                from: jiff::Timestamp,
                to: jiff::Timestamp,
            ) -> Result<Vec<CustomerAggregate>> {
                self.bulk_customer_aggregates(program_id, from, to).await
            }
            async fn points_flows(
                &self,
                program_id: &str,
                from: jiff::Timestamp,
                to: jiff::Timestamp,
            ) -> Result<PointsFlows> {
                self.points_flows_op(program_id, from, to).await
            }
            async fn liability(&self, program_id: &str, at: jiff::Timestamp) -> Result<Liability> {
                self.liability_op(program_id, at).await
            }
            async fn active_members(&self, program_id: &str, at: jiff::Timestamp) -> Result<i64> {
                self.active_members_op(program_id, at).await
            }
            async fn create_segment(
                &self,
                ctx: &Ctx,
                def: &vafa_core::analytics::segment::SegmentDef,
            ) -> Result<SegmentRecord> {
                self.create_segment_op(ctx, def).await
            }
            async fn list_segments(
                &self,
                program_id: &str,
                only: Option<&str>,
            ) -> Result<Vec<SegmentRecord>> {
                self.list_segments_op(program_id, only).await
            }
            async fn segment_population(
                &self,
                program_id: &str,
                at: jiff::Timestamp,
            ) -> Result<Vec<SegmentCandidate>> {
                self.segment_population_op(program_id, at).await
            }
            async fn save_snapshot(
                &self,
                ctx: &Ctx,
                segment_id: &str,
                at: jiff::Timestamp,
                members: &[String],
            ) -> Result<SnapshotRecord> {
                self.save_snapshot_op(ctx, segment_id, at, members).await
            }
            async fn snapshot_members(
                &self,
                program_id: &str,
                snapshot_id: &str,
            ) -> Result<Option<(SnapshotRecord, Vec<String>)>> {
                self.snapshot_members_op(program_id, snapshot_id).await
            }
            async fn tier_ladder(
                &self,
                program_id: &str,
            ) -> Result<Option<vafa_core::tiers::TierLadder>> {
                self.tier_ladder_op(program_id).await
            }
            async fn tier_counts(&self, program_id: &str) -> Result<Vec<(Option<String>, i64)>> {
                self.tier_counts_op(program_id).await
            }
            async fn set_tier_ladder(
                &self,
                ctx: &Ctx,
                ladder: &vafa_core::tiers::TierLadder,
            ) -> Result<vafa_core::tiers::TierLadder> {
                self.set_tier_ladder_op(ctx, ladder).await
            }
            async fn customer_tier(
                &self,
                program_id: &str,
                customer_id: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<CustomerTier>> {
                self.customer_tier_op(program_id, customer_id, now).await
            }
            async fn tier_history(
                &self,
                program_id: &str,
                customer_id: &str,
            ) -> Result<Vec<TierChange>> {
                self.tier_history_op(program_id, customer_id).await
            }
            async fn override_tier(
                &self,
                ctx: &Ctx,
                customer_id: &str,
                change: &TierOverride,
            ) -> Result<TierChange> {
                self.override_tier_op(ctx, customer_id, change).await
            }
            async fn evaluate_tiers(&self, ctx: &Ctx) -> Result<TierRun> {
                self.evaluate_tiers_op(ctx).await
            }
            async fn tier_programs(&self) -> Result<Vec<String>> {
                let mut conn = self.read.acquire().await?;
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT program_id FROM tier_ladders ORDER BY program_id")
                        .fetch_all(&mut *conn)
                        .await?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }
            async fn create_coupon_batch(
                &self,
                ctx: &Ctx,
                batch: &NewCouponBatch,
                progress: &(dyn Fn(u64) + Send + Sync),
            ) -> Result<CouponBatch> {
                self.create_coupon_batch_op(ctx, batch, progress).await
            }
            async fn list_coupon_batches(&self, program_id: &str) -> Result<Vec<CouponBatch>> {
                self.list_coupon_batches_op(program_id).await
            }
            async fn get_coupon_batch(
                &self,
                program_id: &str,
                id: &str,
            ) -> Result<Option<CouponBatch>> {
                self.get_coupon_batch_op(program_id, id).await
            }
            async fn coupon_codes(
                &self,
                program_id: &str,
                batch_id: &str,
                after: &str,
                limit: u32,
            ) -> Result<Vec<(String, i64)>> {
                self.coupon_codes_op(program_id, batch_id, after, limit)
                    .await
            }
            async fn check_coupon(
                &self,
                program_id: &str,
                code: &str,
                customer_id: Option<&str>,
                cart: &CouponCart,
                at: jiff::Timestamp,
            ) -> Result<CouponUse> {
                self.check_coupon_op(program_id, code, customer_id, cart, at)
                    .await
            }
            async fn redeem_coupon(
                &self,
                ctx: &Ctx,
                code: &str,
                customer_id: &str,
                cart: &CouponCart,
                purchase_id: Option<&str>,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<CouponUse>> {
                retry_race(
                    || self.redeem_coupon_op(ctx, code, customer_id, cart, purchase_id, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn create_reward(
                &self,
                ctx: &Ctx,
                def: &vafa_core::rewards::RewardDef,
            ) -> Result<Reward> {
                self.create_reward_op(ctx, def).await
            }
            async fn list_rewards(&self, program_id: &str) -> Result<Vec<Reward>> {
                self.list_rewards_op(program_id).await
            }
            async fn get_reward(&self, program_id: &str, id: &str) -> Result<Option<Reward>> {
                self.get_reward_op(program_id, id).await
            }
            async fn retire_reward(&self, ctx: &Ctx, id: &str) -> Result<Reward> {
                self.retire_reward_op(ctx, id).await
            }
            async fn claim_reward(
                &self,
                ctx: &Ctx,
                reward_id: &str,
                customer_id: &str,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<RewardClaim>> {
                retry_race(
                    || self.claim_reward_op(ctx, reward_id, customer_id, idem),
                    || self.key_taken(&ctx.program_id, idem),
                )
                .await
            }
            async fn use_reward_code(&self, ctx: &Ctx, code: &str) -> Result<RewardClaim> {
                self.use_reward_code_op(ctx, code).await
            }
            async fn cancel_reward_claim(
                &self,
                ctx: &Ctx,
                claim_id: &str,
                reason: &str,
            ) -> Result<RewardClaim> {
                self.cancel_reward_claim_op(ctx, claim_id, reason).await
            }
            async fn set_reward_fulfilment(
                &self,
                ctx: &Ctx,
                claim_id: &str,
                status: &str,
            ) -> Result<RewardClaim> {
                self.set_reward_fulfilment_op(ctx, claim_id, status).await
            }
            async fn customer_reward_claims(
                &self,
                program_id: &str,
                customer_id: &str,
            ) -> Result<Vec<RewardClaim>> {
                self.customer_reward_claims_op(program_id, customer_id)
                    .await
            }
            async fn get_reward_claim(
                &self,
                program_id: &str,
                claim_id: &str,
            ) -> Result<Option<RewardClaim>> {
                self.get_reward_claim_op(program_id, claim_id).await
            }
            async fn reward_claim_by_code(
                &self,
                program_id: &str,
                code: &str,
            ) -> Result<Option<RewardClaim>> {
                let mut conn = self.read.acquire().await?;
                Self::claim_by(&mut conn, program_id, "code", code).await
            }
        }
    };
}
pub(crate) use store_impl;

/// Run a value-moving operation; if a concurrent twin with the same idempotency key
/// committed first, run it once more, which then answers with the twin's outcome.
///
/// The twin can also make the loser fail on its own checks before it reaches the key:
/// on PostgreSQL (read committed) the loser waits on the customer's lock, then sees the
/// twin's effects — the points it spent, the receipt it recorded — and refuses. So any
/// refusal of a keyed request asks `key_taken` once: if the key is recorded now, running
/// again replays the twin's answer instead of the refusal.
pub(crate) async fn retry_race<T, F, Fut, K, KFut>(op: F, key_taken: K) -> crate::Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
    K: FnOnce() -> KFut,
    KFut: std::future::Future<Output = bool>,
{
    match op().await {
        Err(e) if crate::sql::ledger_support::is_idempotency_race(&e) => op().await,
        Err(crate::StoreError::IdempotencyConflict) => Err(crate::StoreError::IdempotencyConflict),
        Err(e) => {
            if key_taken().await {
                op().await
            } else {
                Err(e)
            }
        }
        ok => ok,
    }
}
