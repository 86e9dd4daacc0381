//! Tiers with a controllable clock: upgrade on the purchase that crosses a threshold
//! (with the entry gift), the multiplier on later purchases, downgrade after grace over
//! a rolling window and at the Jalali new year, overrides that pin, and history.

use crate::ledger::{customer, purchase};
use crate::{each_backend, program};
use vafa_core::ledger::{ExpiryPolicy, LedgerSettings, ReturnPolicy};
use vafa_core::tiers::{Tier, TierLadder, TierMetric, TierWindow};
use vafa_store::*;

fn tier(code: &str, threshold: i64, multiplier: &str, gift: i64) -> Tier {
    Tier {
        code: code.into(),
        name: code.into(),
        name_en: None,
        threshold,
        earn_multiplier: multiplier.parse().unwrap(),
        discount_percent: "0".parse().unwrap(),
        entry_gift_points: gift,
        free_items: Vec::new(),
    }
}

fn at(ctx: &Ctx, when: &str) -> Ctx {
    Ctx {
        now: when.parse().unwrap(),
        ..ctx.clone()
    }
}

async fn buy(store: &std::sync::Arc<dyn Store>, ctx: &Ctx, c: &str, total: i64) -> PurchaseOutcome {
    let mut p = purchase(c, total, &[(1, total)]);
    p.occurred_at = ctx.now;
    store.post_purchase(ctx, &p, None).await.unwrap().value
}

async fn level(store: &std::sync::Arc<dyn Store>, ctx: &Ctx, c: &str) -> String {
    store
        .customer_tier(&ctx.program_id, c, ctx.now)
        .await
        .unwrap()
        .unwrap()
        .tier
        .code
}

#[tokio::test]
async fn rolling_window_upgrade_multiplier_grace_downgrade_and_pins() {
    each_backend(|store, name| async move {
        let ctx = at(&program(&store, "Tiers").await, "2026-01-10T08:00:00Z");
        let settings = LedgerSettings {
            earn_points: 1,
            earn_per_minor: 10,
            expiry: ExpiryPolicy::Never,
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &settings).await.unwrap();
        let ladder = TierLadder {
            metric: TierMetric::Spend,
            window: TierWindow::RollingMonths { months: 12 },
            grace_days: 30,
            tiers: vec![
                tier("simple", 0, "1", 0),
                tier("silver", 1000, "1.5", 50),
                tier("gold", 5000, "2", 0),
            ],
        };
        store.set_tier_ladder(&ctx, &ladder).await.unwrap();
        let c = customer(&store, &ctx, "Sara").await;
        assert_eq!(
            level(&store, &ctx, &c).await,
            "simple",
            "{name}: no record is the first tier"
        );

        let first = buy(&store, &ctx, &c, 600).await;
        assert_eq!(
            (first.points_earned, first.tier_change.is_none()),
            (60, true)
        );
        // 600 + 500 crosses silver's 1000: upgraded by this purchase, which still
        // earned at simple's rate; the entry gift is posted with it.
        let ctx2 = at(&ctx, "2026-01-11T08:00:00Z");
        let second = buy(&store, &ctx2, &c, 500).await;
        assert_eq!(second.points_earned, 50, "{name}");
        let change = second.tier_change.clone().expect("upgraded");
        assert_eq!(
            (
                change.from_tier.as_deref(),
                change.to_tier.as_str(),
                change.kind.as_str(),
                change.qualifying,
                change.gift_points
            ),
            (Some("simple"), "silver", "upgrade", 1100, 50)
        );
        assert_eq!(
            second.balance.points_available,
            60 + 50 + 50,
            "{name}: gift included"
        );
        // Silver multiplies: 100 → 10 points × 1.5.
        let third = buy(&store, &at(&ctx, "2026-01-12T08:00:00Z"), &c, 100).await;
        assert_eq!(
            (third.points_earned, third.tier.as_deref()),
            (15, Some("silver"))
        );

        let standing = store
            .customer_tier(&ctx.program_id, &c, "2026-01-12T09:00:00Z".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((standing.level, standing.qualifying), (1, 1200));
        let next = standing.next.unwrap();
        assert_eq!((next.code.as_str(), next.needed), ("gold", 3800));

        // A year and more later nothing is left in the window: grace starts…
        let late = at(&ctx, "2027-02-01T00:00:00Z");
        let run = store.evaluate_tiers(&late).await.unwrap();
        assert_eq!(
            (run.evaluated, run.downgraded, run.in_grace),
            (1, 0, 1),
            "{name}"
        );
        let run = store
            .evaluate_tiers(&at(&ctx, "2027-03-02T23:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            (run.downgraded, run.in_grace),
            (0, 1),
            "{name}: day 29 is still grace"
        );
        assert_eq!(level(&store, &late, &c).await, "silver");
        // …and ends after 30 days.
        let run = store
            .evaluate_tiers(&at(&ctx, "2027-03-03T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(run.downgraded, 1, "{name}");
        assert_eq!(level(&store, &late, &c).await, "simple");

        // A manager pins gold for 60 days: evaluations leave it until then.
        let pinned = at(&ctx, "2027-03-04T00:00:00Z");
        store
            .override_tier(
                &pinned,
                &c,
                &TierOverride {
                    tier: "gold".into(),
                    reason: "apology for a lost order".into(),
                    until: Some("2027-05-03T00:00:00Z".parse().unwrap()),
                },
            )
            .await
            .unwrap();
        let run = store
            .evaluate_tiers(&at(&ctx, "2027-04-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((run.downgraded, run.in_grace), (0, 0), "{name}: pinned");
        assert_eq!(level(&store, &pinned, &c).await, "gold");

        let history = store.tier_history(&ctx.program_id, &c).await.unwrap();
        let kinds: Vec<(&str, &str)> = history
            .iter()
            .map(|h| (h.kind.as_str(), h.to_tier.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("override", "gold"),
                ("downgrade", "simple"),
                ("upgrade", "silver")
            ],
            "{name}: newest first"
        );
        assert_eq!(
            history[0].reason.as_deref(),
            Some("apology for a lost order")
        );

        let report = store.verify_ledger(None).await.unwrap();
        assert!(report.problems.is_empty(), "{name}: {:#?}", report.problems);
    })
    .await;
}

#[tokio::test]
async fn a_jalali_year_window_resets_at_nowruz() {
    each_backend(|store, name| async move {
        // The test programs are Persian: their calendar is Jalali.
        let ctx = at(&program(&store, "Nowruz").await, "2026-03-11T08:00:00Z"); // 1404/12/20
        let ladder = TierLadder {
            metric: TierMetric::EarnedPoints,
            window: TierWindow::CalendarYear,
            grace_days: 0,
            tiers: vec![tier("simple", 0, "1", 0), tier("silver", 10, "1", 0)],
        };
        store.set_tier_ladder(&ctx, &ladder).await.unwrap();
        let c = customer(&store, &ctx, "Reza").await;
        // Default earning: 1 point per 10,000 rials; 120,000 earns 12 ≥ 10.
        let p = buy(&store, &ctx, &c, 120_000).await;
        assert_eq!(
            p.tier_change.map(|t| t.to_tier),
            Some("silver".into()),
            "{name}"
        );
        // The last hours of 1404 still count the purchase…
        let run = store
            .evaluate_tiers(&at(&ctx, "2026-03-20T12:00:00Z"))
            .await
            .unwrap();
        assert_eq!(run.downgraded, 0, "{name}");
        // …from 1 Farvardin 1405 (00:00 Tehran = 20:30 UTC) the year is empty.
        let run = store
            .evaluate_tiers(&at(&ctx, "2026-03-20T20:31:00Z"))
            .await
            .unwrap();
        assert_eq!(run.downgraded, 1, "{name}");
        assert_eq!(
            level(&store, &at(&ctx, "2026-03-21T00:00:00Z"), &c).await,
            "simple"
        );
    })
    .await;
}

/// A merge raises the survivor to the higher of the two records' tiers without a second
/// entry gift, and past both when their purchases together cross a threshold — with that
/// tier's gift, as a purchase would have.
#[tokio::test]
async fn a_merge_brings_the_higher_tier_and_the_purchases_together() {
    each_backend(|store, name| async move {
        let ctx = at(
            &program(&store, "Merged tiers").await,
            "2026-01-10T08:00:00Z",
        );
        let settings = LedgerSettings {
            earn_points: 1,
            earn_per_minor: 10,
            expiry: ExpiryPolicy::Never,
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &settings).await.unwrap();
        let ladder = TierLadder {
            metric: TierMetric::Spend,
            window: TierWindow::Lifetime,
            grace_days: 0,
            tiers: vec![
                tier("simple", 0, "1", 0),
                tier("silver", 1000, "1", 50),
                tier("gold", 5000, "1", 300),
            ],
        };
        store.set_tier_ladder(&ctx, &ladder).await.unwrap();

        // 600 + 700: neither is silver alone, both together are.
        let (a, b) = (
            customer(&store, &ctx, "A").await,
            customer(&store, &ctx, "B").await,
        );
        buy(&store, &ctx, &a, 600).await;
        buy(&store, &ctx, &b, 700).await;
        let out = store.merge_customers(&ctx, &a, &b).await.unwrap();
        let change = out.moved.tier_change.expect("an upgrade");
        assert_eq!(
            (
                change.to_tier.as_str(),
                change.kind.as_str(),
                change.gift_points
            ),
            ("silver", "upgrade", 50),
            "{name}"
        );
        assert_eq!(level(&store, &ctx, &a).await, "silver");
        let bal = store.balance(&ctx.program_id, &a, ctx.now).await.unwrap();
        assert_eq!(bal.points_available, 60 + 70 + 50, "{name}");

        // The duplicate is gold already: the survivor becomes gold, with no second gift.
        let (c, d) = (
            customer(&store, &ctx, "C").await,
            customer(&store, &ctx, "D").await,
        );
        buy(&store, &ctx, &d, 6000).await;
        assert_eq!(level(&store, &ctx, &d).await, "gold");
        let out = store.merge_customers(&ctx, &c, &d).await.unwrap();
        let change = out.moved.tier_change.expect("the duplicate's tier");
        assert_eq!(
            (
                change.to_tier.as_str(),
                change.kind.as_str(),
                change.gift_points
            ),
            ("gold", "merge", 0),
            "{name}"
        );
        let bal = store.balance(&ctx.program_id, &c, ctx.now).await.unwrap();
        assert_eq!(
            bal.points_available,
            600 + 300,
            "{name}: the gift D had moved with D's points, once"
        );

        // Nothing to raise: no change.
        let (e, f) = (
            customer(&store, &ctx, "E").await,
            customer(&store, &ctx, "F").await,
        );
        buy(&store, &ctx, &f, 100).await;
        assert!(
            store
                .merge_customers(&ctx, &e, &f)
                .await
                .unwrap()
                .moved
                .tier_change
                .is_none(),
            "{name}"
        );
        crate::ledger::verified(&store, name).await;
    })
    .await;
}

/// A tier's entry gift is the purchase's, like its points: pending with them, and taken
/// back by the return that leaves the customer below the tier — not by one that leaves
/// them above it, and only once. So buying past a threshold, returning it, being
/// downgraded and buying again gives no gift to keep.
#[tokio::test]
async fn a_return_below_the_threshold_takes_the_tier_gift_back() {
    each_backend(|store, name| async move {
        let ctx = at(&program(&store, "Gift back").await, "2026-01-10T08:00:00Z");
        let only_pending = LedgerSettings {
            earn_points: 1,
            earn_per_minor: 10,
            pending_days: 14,
            expiry: ExpiryPolicy::Never,
            return_policy: ReturnPolicy::OnlyPending,
            ..Default::default()
        };
        store
            .set_ledger_settings(&ctx, &only_pending)
            .await
            .unwrap();
        let ladder = TierLadder {
            metric: TierMetric::Spend,
            window: TierWindow::RollingMonths { months: 12 },
            grace_days: 0,
            tiers: vec![tier("simple", 0, "1", 0), tier("silver", 1000, "1", 50)],
        };
        store.set_tier_ladder(&ctx, &ladder).await.unwrap();
        let back = |ctx: Ctx, id: String, amount: i64| {
            let store = store.clone();
            async move {
                store
                    .return_purchase(&ctx, &id, &ReturnRequest::Amount(amount), None)
                    .await
                    .unwrap()
                    .value
            }
        };

        let c = customer(&store, &ctx, "Farmer").await;
        let first = buy(&store, &ctx, &c, 1200).await;
        assert_eq!(first.tier_change.as_ref().map(|t| t.gift_points), Some(50));
        assert_eq!(
            (first.balance.points_available, first.balance.points_pending),
            (0, 120 + 50),
            "{name}: the gift is pending with the purchase's points"
        );
        // 1,100 is still silver: the gift stays.
        let r = back(
            at(&ctx, "2026-01-11T08:00:00Z"),
            first.purchase_id.clone(),
            100,
        )
        .await;
        assert_eq!(
            (r.points_reversed, r.tier_gift_points_reversed),
            (10, 0),
            "{name}"
        );
        // 900 is not: it goes back, from its own pending lot.
        let r = back(
            at(&ctx, "2026-01-12T08:00:00Z"),
            first.purchase_id.clone(),
            200,
        )
        .await;
        assert_eq!(
            (
                r.points_reversed,
                r.tier_gift_points_reversed,
                r.points_debt_added
            ),
            (20, 50, 0),
            "{name}"
        );
        assert_eq!(
            (r.balance.points_available, r.balance.points_pending),
            (0, 90)
        );
        // Once.
        let r = back(
            at(&ctx, "2026-01-13T08:00:00Z"),
            first.purchase_id.clone(),
            900,
        )
        .await;
        assert_eq!(
            (r.points_reversed, r.tier_gift_points_reversed),
            (90, 0),
            "{name}"
        );

        // Downgraded (no grace), the customer buys past silver again: a new gift,
        // and a return takes it back again. Nothing was gained by the round.
        let later = at(&ctx, "2026-01-14T08:00:00Z");
        assert_eq!(store.evaluate_tiers(&later).await.unwrap().downgraded, 1);
        let again = buy(&store, &later, &c, 1200).await;
        assert_eq!(
            again.tier_change.as_ref().map(|t| t.gift_points),
            Some(50),
            "{name}"
        );
        let r = back(
            at(&ctx, "2026-01-15T08:00:00Z"),
            again.purchase_id.clone(),
            1200,
        )
        .await;
        assert_eq!(
            (r.points_reversed, r.tier_gift_points_reversed),
            (120, 50),
            "{name}"
        );
        assert_eq!(
            (r.balance.points_available, r.balance.points_pending),
            (0, 0)
        );

        // A gift spent already (no pending days) becomes a debt under allow_negative.
        let spent = LedgerSettings {
            pending_days: 0,
            return_policy: ReturnPolicy::AllowNegative,
            ..only_pending.clone()
        };
        store.set_ledger_settings(&ctx, &spent).await.unwrap();
        let d = customer(&store, &ctx, "Spender").await;
        let bought = buy(&store, &ctx, &d, 1500).await;
        assert_eq!(bought.balance.points_available, 150 + 50, "{name}");
        store
            .redeem(&ctx, &d, Spend::Points(200), None)
            .await
            .unwrap();
        let r = back(ctx.clone(), bought.purchase_id.clone(), 1500).await;
        assert_eq!(
            (
                r.points_reversed,
                r.tier_gift_points_reversed,
                r.points_debt_added
            ),
            (150, 50, 200),
            "{name}"
        );

        // A merge moves the pending gift to the survivor; the return finds it there.
        store
            .set_ledger_settings(&ctx, &only_pending)
            .await
            .unwrap();
        let (keep, dup) = (
            customer(&store, &ctx, "Keep").await,
            customer(&store, &ctx, "Dup").await,
        );
        let merged = buy(&store, &ctx, &dup, 1000).await;
        assert!(merged.tier_change.is_some(), "{name}");
        store.merge_customers(&ctx, &keep, &dup).await.unwrap();
        let r = back(ctx.clone(), merged.purchase_id.clone(), 1000).await;
        assert_eq!(
            (
                r.customer_id.as_str(),
                r.points_reversed,
                r.tier_gift_points_reversed
            ),
            (keep.as_str(), 100, 50),
            "{name}"
        );
        assert_eq!(
            (r.balance.points_available, r.balance.points_pending),
            (0, 0)
        );
        crate::ledger::verified(&store, name).await;
    })
    .await;
}
