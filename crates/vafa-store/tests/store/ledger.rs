use crate::{each_backend, now, program};
use std::sync::Arc;
use vafa_core::customer::ProfilePatch;
use vafa_core::ledger::{ExpiryPolicy, LedgerSettings, ReturnPolicy};
use vafa_core::patch::Patch;
use vafa_store::*;

pub async fn customer(store: &Arc<dyn Store>, ctx: &Ctx, name: &str) -> String {
    let p = ProfilePatch {
        first_name: Patch::Value(name.into()),
        ..Default::default()
    };
    store.create_customer(ctx, p).await.unwrap().id
}

/// A customer who owes 10 points: earned on a purchase of 100,000, spent, then the
/// purchase returned (the default policy, `allow_negative`, and no pending days).
async fn customer_in_debt(store: &Arc<dyn Store>, ctx: &Ctx, name: &str) -> String {
    let c = customer(store, ctx, name).await;
    let p = store
        .post_purchase(ctx, &purchase(&c, 100_000, &[]), None)
        .await
        .unwrap()
        .value;
    store
        .redeem(ctx, &c, Spend::Points(10), None)
        .await
        .unwrap();
    store
        .return_purchase(ctx, &p.purchase_id, &ReturnRequest::Amount(100_000), None)
        .await
        .unwrap();
    c
}

/// Run the request `make` builds eight times at once; every one must succeed. The
/// distinct ids (by `id`) of what they answered: one, when they are duplicates.
async fn eight_at_once<T, Fut>(
    name: &str,
    id: impl Fn(T) -> String,
    make: impl Fn() -> Fut,
) -> std::collections::HashSet<String>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = vafa_store::Result<Replayed<T>>> + Send + 'static,
{
    let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(make())).collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let out = t
            .await
            .unwrap()
            .map_err(|e| format!("{name}: {e}"))
            .unwrap();
        ids.insert(id(out.value));
    }
    ids
}

pub fn purchase(customer_id: &str, total: i64, lines: &[(i64, i64)]) -> NewPurchase {
    NewPurchase {
        coupons: Vec::new(),
        checkout: None,
        customer: CustomerRef::Id(customer_id.into()),
        store: Some("branch-1".into()),
        channel: Some("pos".into()),
        external_id: None,
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, (q, price))| PurchaseLine {
                sku: Some(format!("SKU{i}")),
                name: None,
                category: None,
                quantity: *q,
                unit_price_minor: *price,
            })
            .collect(),
        total_minor: total,
        occurred_at: now(),
    }
}

fn at(ctx: &Ctx, hours: i64) -> Ctx {
    Ctx {
        now: now()
            .checked_add(jiff::SignedDuration::from_hours(hours))
            .unwrap(),
        ..ctx.clone()
    }
}

pub async fn verified(store: &Arc<dyn Store>, name: &str) {
    let report = store.verify_ledger(None).await.unwrap();
    assert!(report.problems.is_empty(), "{name}: {:#?}", report.problems);
}

#[tokio::test]
async fn purchases_earn_pending_points_that_ripen_and_expire() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Ledger").await;
        let settings = LedgerSettings {
            pending_days: 7,
            expiry: ExpiryPolicy::Days { days: 30 },
            cashback_percent: "2".parse().unwrap(),
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &settings).await.unwrap();
        let c = customer(&store, &ctx, "Ali").await;
        let out = store
            .post_purchase(
                &ctx,
                &purchase(&c, 125_000, &[(2, 50_000), (1, 25_000)]),
                None,
            )
            .await
            .unwrap()
            .value;
        assert_eq!(
            (out.points_earned, out.points_pending, out.cashback_minor),
            (12, 12, 2500),
            "{name}"
        );
        assert_eq!(
            out.lines.iter().map(|l| l.points).collect::<Vec<_>>(),
            [10, 2]
        );
        assert_eq!(
            (out.balance.points_available, out.balance.points_pending),
            (0, 12)
        );

        let b = |h| {
            let store = store.clone();
            let (p, c, when) = (ctx.program_id.clone(), c.clone(), at(&ctx, h).now);
            async move { store.balance(&p, &c, when).await.unwrap() }
        };
        assert_eq!(
            b(24 * 7 - 1).await.points_available,
            0,
            "still in the return window"
        );
        assert_eq!(
            b(24 * 7).await.points_available,
            12,
            "available at the right moment, no job needed"
        );
        assert_eq!(
            b(24 * 37 - 1).await.points_available,
            12,
            "thirty days of life from when they became available, not from the sale"
        );
        assert_eq!(
            b(24 * 37).await.points_available,
            0,
            "expired at day 7 + 30 even before the job runs"
        );

        let spend = store.redeem(&ctx, &c, Spend::Points(1), None).await;
        assert!(
            matches!(spend, Err(StoreError::InsufficientPoints { available: 0 })),
            "{name}: pending is not spendable"
        );
        let run = store
            .expire_lots(&ctx.program_id, at(&ctx, 24 * 38).now, 100, 10)
            .await
            .unwrap();
        assert_eq!((run.lots_expired, run.points_expired), (1, 12));
        let again = store
            .expire_lots(&ctx.program_id, at(&ctx, 24 * 38).now, 100, 10)
            .await
            .unwrap();
        assert_eq!(again.lots_expired, 0, "the expiry job is idempotent");
        let after = b(24 * 38).await;
        assert_eq!(
            (
                after.lifetime.clone().unwrap().points.earned,
                after.lifetime.clone().unwrap().points.expired
            ),
            (12, 12)
        );
        assert_eq!(after.cashback_minor, 2500);
        let ledger = store
            .customer_ledger(&ctx.program_id, &c, &PageRequest::default())
            .await
            .unwrap();
        let kinds: Vec<_> = ledger
            .items
            .iter()
            .map(|l| (l.kind.as_str(), l.points, l.points_balance_after))
            .collect();
        assert_eq!(
            kinds,
            [("expiry", -12, Some(0)), ("purchase", 12, Some(12))]
        );
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn returns_reverse_what_the_returned_lines_earned() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Returns").await;
        let c = customer(&store, &ctx, "Sara").await;
        // 1 point per 10,000: line 1 earns 10, line 2 earns 2.
        let out = store
            .post_purchase(
                &ctx,
                &purchase(&c, 125_000, &[(2, 50_000), (1, 25_000)]),
                None,
            )
            .await
            .unwrap()
            .value;
        let line2 = ReturnRequest::Lines(vec![(2, 1)]);
        let r = store
            .return_purchase(&ctx, &out.purchase_id, &line2, None)
            .await
            .unwrap()
            .value;
        assert_eq!(
            (r.amount_minor, r.points_due, r.points_reversed),
            (25_000, 2, 2),
            "{name}"
        );
        let again = store
            .return_purchase(&ctx, &out.purchase_id, &line2, None)
            .await;
        assert!(
            matches!(again, Err(StoreError::ReturnTooLarge { .. })),
            "{name}: returning more than was bought"
        );
        let too_much = store
            .return_purchase(
                &ctx,
                &out.purchase_id,
                &ReturnRequest::Amount(100_001),
                None,
            )
            .await;
        assert!(matches!(too_much, Err(StoreError::ReturnTooLarge { .. })));

        // Spend most of what is left, then return the rest: the shortfall becomes debt.
        store
            .redeem(&ctx, &c, Spend::Points(8), None)
            .await
            .unwrap();
        let rest = store
            .return_purchase(
                &ctx,
                &out.purchase_id,
                &ReturnRequest::Lines(vec![(1, 2)]),
                None,
            )
            .await
            .unwrap()
            .value;
        assert_eq!(
            (
                rest.points_due,
                rest.points_reversed,
                rest.points_debt_added
            ),
            (10, 10, 8)
        );
        assert_eq!(
            (rest.balance.points_available, rest.balance.points_debt),
            (-8, 8)
        );
        // Later earnings pay the debt first.
        let next = store
            .post_purchase(&ctx, &purchase(&c, 100_000, &[]), None)
            .await
            .unwrap()
            .value;
        assert_eq!(
            (
                next.debt_paid,
                next.balance.points_available,
                next.balance.points_debt
            ),
            (8, 2, 0)
        );
        verified(&store, name).await;

        let within = program(&store, "Within").await;
        let s = LedgerSettings {
            return_policy: ReturnPolicy::WithinBalance,
            ..Default::default()
        };
        store.set_ledger_settings(&within, &s).await.unwrap();
        let d = customer(&store, &within, "Dara").await;
        let p = store
            .post_purchase(&within, &purchase(&d, 50_000, &[]), None)
            .await
            .unwrap()
            .value;
        store
            .redeem(&within, &d, Spend::Points(4), None)
            .await
            .unwrap();
        let r = store
            .return_purchase(
                &within,
                &p.purchase_id,
                &ReturnRequest::Amount(50_000),
                None,
            )
            .await
            .unwrap()
            .value;
        assert_eq!(
            (r.points_due, r.points_reversed, r.balance.points_available),
            (5, 1, 0),
            "{name}: never below zero"
        );
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn returns_by_lines_and_by_amount_owe_back_what_was_earned_once() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Mixed returns").await;
        let s = LedgerSettings {
            cashback_percent: "2".parse().unwrap(),
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        let c = customer(&store, &ctx, "Nima").await;
        let ret = |id: String, r: ReturnRequest| {
            let (store, ctx) = (store.clone(), ctx.clone());
            async move {
                store
                    .return_purchase(&ctx, &id, &r, None)
                    .await
                    .unwrap()
                    .value
            }
        };
        // Two lines of 15,000: 3 points, the odd one to the first line (2 and 1), and 600
        // of cashback (300 and 300).
        for lines_first in [true, false] {
            let p = store
                .post_purchase(
                    &ctx,
                    &purchase(&c, 30_000, &[(1, 15_000), (1, 15_000)]),
                    None,
                )
                .await
                .unwrap()
                .value;
            assert_eq!((p.points_earned, p.cashback_minor), (3, 600), "{name}");
            let by_line = ReturnRequest::Lines(vec![(1, 1)]);
            let by_amount = ReturnRequest::Amount(15_000);
            let (a, b) = if lines_first {
                (
                    ret(p.purchase_id.clone(), by_line).await,
                    ret(p.purchase_id.clone(), by_amount).await,
                )
            } else {
                (
                    ret(p.purchase_id.clone(), by_amount).await,
                    ret(p.purchase_id.clone(), by_line).await,
                )
            };
            assert_eq!(
                (
                    a.points_due + b.points_due,
                    a.cashback_reversed_minor + b.cashback_reversed_minor
                ),
                (3, 600),
                "{name}: lines first {lines_first}: {a:?} then {b:?}"
            );
            if lines_first {
                assert_eq!(
                    (a.points_due, b.points_due),
                    (2, 1),
                    "{name}: the line's own 2, then what is left"
                );
            }
        }
        // The whole purchase is back: nothing earned is left with the customer.
        let b = store.balance(&ctx.program_id, &c, now()).await.unwrap();
        assert_eq!(
            (b.points_available, b.points_debt, b.cashback_minor),
            (0, 0, 0),
            "{name}"
        );

        // A discount given at the till is spread over the lines: returning each line
        // pays back its share of the 90,000 paid, not its list price.
        let p = store
            .post_purchase(
                &ctx,
                &purchase(&c, 90_000, &[(1, 60_000), (1, 40_000)]),
                None,
            )
            .await
            .unwrap()
            .value;
        let one = ret(p.purchase_id.clone(), ReturnRequest::Lines(vec![(1, 1)])).await;
        let two = ret(p.purchase_id.clone(), ReturnRequest::Lines(vec![(2, 1)])).await;
        assert_eq!(
            (
                one.amount_minor,
                one.points_due,
                two.amount_minor,
                two.points_due
            ),
            (54_000, 5, 36_000, 4),
            "{name}"
        );

        // Money given back by amount first (a price corrected after the sale), then every
        // line: the lines refund what is left of the 90,000, not their full shares.
        let p = store
            .post_purchase(
                &ctx,
                &purchase(&c, 90_000, &[(1, 60_000), (1, 40_000)]),
                None,
            )
            .await
            .unwrap()
            .value;
        let part = ret(p.purchase_id.clone(), ReturnRequest::Amount(10_000)).await;
        let one = ret(p.purchase_id.clone(), ReturnRequest::Lines(vec![(1, 1)])).await;
        let two = ret(p.purchase_id.clone(), ReturnRequest::Lines(vec![(2, 1)])).await;
        assert_eq!(
            (part.amount_minor, one.amount_minor, two.amount_minor),
            (10_000, 54_000, 26_000),
            "{name}"
        );
        assert_eq!(
            part.points_due + one.points_due + two.points_due,
            p.points_earned,
            "{name}"
        );
        assert!(matches!(
            store
                .return_purchase(&ctx, &p.purchase_id, &ReturnRequest::Amount(1), None)
                .await,
            Err(StoreError::ReturnTooLarge { .. })
        ));
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn points_expired_before_they_were_recorded_pay_no_debt() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Late receipts").await;
        let s = LedgerSettings {
            expiry: ExpiryPolicy::Days { days: 30 },
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        let c = customer_in_debt(&store, &ctx, "Leila").await;
        // A receipt from 60 days ago, entered today: its points expired 30 days ago.
        let late = NewPurchase {
            occurred_at: now()
                .checked_sub(jiff::SignedDuration::from_hours(24 * 60))
                .unwrap(),
            ..purchase(&c, 100_000, &[])
        };
        let late_out = store.post_purchase(&ctx, &late, None).await.unwrap().value;
        let out = late_out.clone();
        assert_eq!(
            (
                out.points_earned,
                out.debt_paid,
                out.points_expired,
                out.points_pending
            ),
            (10, 0, 10, 0),
            "{name}"
        );
        assert_eq!(
            (out.balance.points_available, out.balance.points_debt),
            (-10, 10),
            "{name}: the debt stays"
        );
        // A receipt inside the window pays it.
        let recent = NewPurchase {
            occurred_at: now()
                .checked_sub(jiff::SignedDuration::from_hours(24 * 10))
                .unwrap(),
            ..purchase(&c, 100_000, &[])
        };
        let out = store
            .post_purchase(&ctx, &recent, None)
            .await
            .unwrap()
            .value;
        assert_eq!((out.debt_paid, out.balance.points_debt), (10, 0), "{name}");
        // Returning the late receipt takes nothing back: its points were lost to expiry
        // already, and taking them again would charge the customer twice.
        let r = store
            .return_purchase(
                &ctx,
                &late_out.purchase_id,
                &ReturnRequest::Amount(100_000),
                None,
            )
            .await
            .unwrap()
            .value;
        assert_eq!(
            (
                r.points_due,
                r.points_reversed,
                r.balance.points_available,
                r.balance.points_debt
            ),
            (10, 0, 0, 0),
            "{name}"
        );
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_replay_and_refuse_other_bodies() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Idem").await;
        let c = customer(&store, &ctx, "Reza").await;
        let key = Idempotency {
            key: "k-1".into(),
            fingerprint: "POST /purchases {total:1}".into(),
        };
        let first = store
            .post_purchase(&ctx, &purchase(&c, 90_000, &[]), Some(&key))
            .await
            .unwrap();
        let second = store
            .post_purchase(&ctx, &purchase(&c, 90_000, &[]), Some(&key))
            .await
            .unwrap();
        assert!(!first.replayed && second.replayed, "{name}");
        assert_eq!(first.value, second.value);
        let other = Idempotency {
            fingerprint: "different body".into(),
            ..key.clone()
        };
        let conflict = store
            .post_purchase(&ctx, &purchase(&c, 10_000, &[]), Some(&other))
            .await;
        assert!(matches!(conflict, Err(StoreError::IdempotencyConflict)));

        // Concurrent duplicates: one entry.
        let key = |k: &str| Idempotency {
            key: k.into(),
            fingerprint: format!("body of {k}"),
        };
        let (k2, k3, k4, k5) = (key("k-2"), key("k-3"), key("k-4"), key("k-5"));
        let redeemed = eight_at_once(
            name,
            |r: RedemptionOutcome| r.redemption_id,
            || {
                let (store, ctx, c, k) = (store.clone(), ctx.clone(), c.clone(), k2.clone());
                async move { store.redeem(&ctx, &c, Spend::Points(3), Some(&k)).await }
            },
        )
        .await;
        assert_eq!(redeemed.len(), 1, "{name}");
        assert_eq!(
            store
                .balance(&ctx.program_id, &c, now())
                .await
                .unwrap()
                .points_available,
            9 - 3
        );

        // Duplicates of a request that takes all that is left: the losers must not refuse
        // for want of what the winner took (they wait on the customer's lock, then see its
        // effects), but answer with the winner's outcome.
        let all = eight_at_once(
            name,
            |r: RedemptionOutcome| r.redemption_id,
            || {
                let (store, ctx, c, k) = (store.clone(), ctx.clone(), c.clone(), k3.clone());
                async move { store.redeem(&ctx, &c, Spend::Points(6), Some(&k)).await }
            },
        )
        .await;
        assert_eq!(all.len(), 1, "{name}");
        let receipt = NewPurchase {
            external_id: Some("R-race".into()),
            ..purchase(&c, 40_000, &[])
        };
        let bought = eight_at_once(
            name,
            |p: PurchaseOutcome| p.purchase_id,
            || {
                let (store, ctx, receipt, k) =
                    (store.clone(), ctx.clone(), receipt.clone(), k4.clone());
                async move { store.post_purchase(&ctx, &receipt, Some(&k)).await }
            },
        )
        .await;
        assert_eq!(
            bought.len(),
            1,
            "{name}: one purchase for eight tries of one receipt"
        );
        let bought = bought.into_iter().next().unwrap();
        let returned = eight_at_once(
            name,
            |r: ReturnOutcome| r.return_id,
            || {
                let (store, ctx, bought, k) =
                    (store.clone(), ctx.clone(), bought.clone(), k5.clone());
                async move {
                    store
                        .return_purchase(&ctx, &bought, &ReturnRequest::Amount(40_000), Some(&k))
                        .await
                }
            },
        )
        .await;
        assert_eq!(returned.len(), 1, "{name}: one return");

        let dup = NewPurchase {
            coupons: Vec::new(),
            checkout: None,
            external_id: Some("R-1".into()),
            ..purchase(&c, 10_000, &[])
        };
        store.post_purchase(&ctx, &dup, None).await.unwrap();
        let again = store.post_purchase(&ctx, &dup, None).await;
        assert!(
            matches!(again, Err(StoreError::DuplicatePurchase)),
            "{name}: receipt numbers are unique"
        );
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_never_overdraw() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Race").await;
        let c = customer(&store, &ctx, "Mina").await;
        store
            .adjust(&ctx, &c, 1000, "opening balance", None)
            .await
            .unwrap();
        let before = store.group_commit_stats();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (store, ctx, c) = (store.clone(), ctx.clone(), c.clone());
                tokio::spawn(async move { store.redeem(&ctx, &c, Spend::Points(10), None).await })
            })
            .collect();
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::InsufficientPoints { .. }) => refused += 1,
                Err(e) => panic!("{name}: {e}"),
            }
        }
        assert_eq!((ok, refused), (100, 100), "{name}");
        if let (Some((c0, o0)), Some((c1, o1))) = (before, store.group_commit_stats()) {
            // SQLite: the 100 successful redemptions were made durable by fewer commits.
            assert_eq!(o1 - o0, 100, "{name}: every success was committed");
            assert!(
                c1 - c0 < 100,
                "{name}: {} commits for 100 writes: no group commit",
                c1 - c0
            );
        }
        assert_eq!(
            store
                .balance(&ctx.program_id, &c, now())
                .await
                .unwrap()
                .points_available,
            0
        );
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn adjustments_and_transfers() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Moves").await;
        let a = customer(&store, &ctx, "A").await;
        let b = customer(&store, &ctx, "B").await;
        store
            .adjust(&ctx, &a, 50, "welcome gift", None)
            .await
            .unwrap();
        let debit = store.adjust(&ctx, &a, -60, "mistake", None).await;
        assert!(
            matches!(debit, Err(StoreError::InsufficientPoints { available: 50 })),
            "{name}"
        );
        let refused = store.transfer(&ctx, &a, &b, 10, None).await;
        assert!(
            matches!(refused, Err(StoreError::TransferRefused { .. })),
            "transfers are off by default"
        );
        let s = LedgerSettings {
            transfers_enabled: true,
            transfer_max_points: 30,
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        assert!(matches!(
            store.transfer(&ctx, &a, &b, 31, None).await,
            Err(StoreError::TransferRefused { .. })
        ));
        let t = store.transfer(&ctx, &a, &b, 30, None).await.unwrap().value;
        assert_eq!(t.from_balance.points_available, 20);
        assert_eq!(
            store
                .balance(&ctx.program_id, &b, now())
                .await
                .unwrap()
                .points_available,
            30
        );
        store
            .adjust(&ctx, &a, -20, "correction", None)
            .await
            .unwrap();
        let audit = store
            .list_audit(&ctx.program_id, &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(audit.items[0].action, "ledger.adjusted");
        verified(&store, name).await;
    })
    .await;
}

/// `earned − redeemed − expired − returned + adjusted + transferred = available + pending`
/// and the cashback likewise, from a balance read with its lifetime totals.
fn assert_lifetime_adds_up(b: &BalanceSnapshot, what: &str) {
    let life = b.lifetime.as_ref().unwrap();
    let l = &life.points;
    assert_eq!(
        l.earned - l.redeemed - l.expired - l.returned + l.adjusted + l.transferred,
        b.points_available + b.points_pending,
        "{what}: {life:?}"
    );
    assert_eq!(
        life.cashback_earned_minor - life.cashback_redeemed_minor - life.cashback_returned_minor
            + life.cashback_transferred_minor,
        b.cashback_minor,
        "{what}: {life:?}"
    );
}

#[tokio::test]
async fn a_merge_moves_the_duplicates_points_debt_cashback_and_purchases() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Merge").await;
        let s = LedgerSettings {
            pending_days: 7,
            expiry: ExpiryPolicy::Days { days: 30 },
            cashback_percent: "2".parse().unwrap(),
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        let keep = customer(&store, &ctx, "Keep").await;
        let dup = customer(&store, &ctx, "Dup").await;
        let days_ago = |d: i64| {
            now()
                .checked_sub(jiff::SignedDuration::from_hours(24 * d))
                .unwrap()
        };
        store
            .post_purchase(&ctx, &purchase(&keep, 50_000, &[]), None)
            .await
            .unwrap();
        // The duplicate: 10 points available (earned 10 days ago, available for three
        // days, expiring in 27: thirty days from when they became available), 3
        // pending, and 2,600 of cashback.
        let old = NewPurchase {
            occurred_at: days_ago(10),
            ..purchase(&dup, 100_000, &[])
        };
        // Recorded when it happened: a sale entered late waits out its window from then.
        let then = vafa_store::Ctx {
            now: old.occurred_at,
            ..ctx.clone()
        };
        let old = store.post_purchase(&then, &old, None).await.unwrap().value;
        let fresh = store
            .post_purchase(&ctx, &purchase(&dup, 30_000, &[]), None)
            .await
            .unwrap()
            .value;

        let out = store.merge_customers(&ctx, &keep, &dup).await.unwrap();
        let m = &out.moved;
        assert_eq!(
            (m.points, m.debt, m.cashback_minor, m.purchases),
            (13, 0, 2_600, 2),
            "{name}"
        );
        let b = store.balance(&ctx.program_id, &keep, now()).await.unwrap();
        assert_eq!(
            (b.points_available, b.points_pending, b.cashback_minor),
            (10, 5 + 3, 1_000 + 2_600),
            "{name}"
        );
        let expiring: Vec<(jiff::Timestamp, i64)> =
            b.expiring_soon.iter().map(|e| (e.at, e.points)).collect();
        assert!(
            expiring.contains(&(
                days_ago(10)
                    .checked_add(jiff::SignedDuration::from_hours(24 * 37))
                    .unwrap(),
                10
            )),
            "{name}: the moved lot keeps its expiry: {expiring:?}"
        );
        assert_lifetime_adds_up(&b, name);
        let gone = store.balance(&ctx.program_id, &dup, now()).await.unwrap();
        assert_eq!(
            (
                gone.points_available,
                gone.points_pending,
                gone.cashback_minor
            ),
            (0, 0, 0),
            "{name}"
        );
        assert_lifetime_adds_up(&gone, name);

        // The duplicate's purchase is the survivor's now: its return takes back from it.
        let r = store
            .return_purchase(
                &ctx,
                &old.purchase_id,
                &ReturnRequest::Amount(100_000),
                None,
            )
            .await
            .unwrap()
            .value;
        assert_eq!(
            (
                r.customer_id.as_str(),
                r.points_reversed,
                r.cashback_reversed_minor
            ),
            (keep.as_str(), 10, 2_000),
            "{name}"
        );
        assert_eq!(
            (r.balance.points_available, r.balance.points_debt),
            (0, 0),
            "{name}"
        );
        // Its pending points are still that purchase's lot: a return takes them back from
        // it, not from the survivor's other points, and leaves no debt.
        let r = store
            .return_purchase(
                &ctx,
                &fresh.purchase_id,
                &ReturnRequest::Amount(30_000),
                None,
            )
            .await
            .unwrap()
            .value;
        assert_eq!(
            (
                r.points_reversed,
                r.points_debt_added,
                r.balance.points_pending,
                r.balance.points_debt
            ),
            (3, 0, 5, 0),
            "{name}"
        );
        verified(&store, name).await;

        // A duplicate in debt passes the debt on; the survivor's next earnings pay it.
        let plain = program(&store, "Merge debt").await;
        let a = customer(&store, &plain, "A").await;
        let d = customer_in_debt(&store, &plain, "D").await;
        store
            .post_purchase(&plain, &purchase(&a, 50_000, &[]), None)
            .await
            .unwrap();
        let out = store.merge_customers(&plain, &a, &d).await.unwrap();
        assert_eq!(
            (
                out.moved.points,
                out.moved.debt,
                out.moved.debt_paid,
                out.moved.purchases
            ),
            (0, 10, 5, 1),
            "{name}: the survivor's 5 points pay what they can of the debt"
        );
        let b = store.balance(&plain.program_id, &a, now()).await.unwrap();
        assert_eq!((b.points_available, b.points_debt), (-5, 5), "{name}");
        assert_lifetime_adds_up(&b, name);
        let next = store
            .post_purchase(&plain, &purchase(&a, 100_000, &[]), None)
            .await
            .unwrap()
            .value;
        assert_eq!(
            (next.debt_paid, next.balance.points_available),
            (5, 5),
            "{name}"
        );
        verified(&store, name).await;

        // And the other way round: the survivor in debt, the duplicate with points.
        let x = customer_in_debt(&store, &plain, "X").await;
        let y = customer(&store, &plain, "Y").await;
        store
            .post_purchase(&plain, &purchase(&y, 150_000, &[]), None)
            .await
            .unwrap();
        let out = store.merge_customers(&plain, &x, &y).await.unwrap();
        assert_eq!(
            (out.moved.points, out.moved.debt, out.moved.debt_paid),
            (15, 0, 10),
            "{name}"
        );
        let b = store.balance(&plain.program_id, &x, now()).await.unwrap();
        assert_eq!((b.points_available, b.points_debt), (5, 0), "{name}");
        assert_lifetime_adds_up(&b, name);
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn a_survivors_lifetime_totals_are_both_records_history() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Merge history").await;
        let keep = customer(&store, &ctx, "Keep").await;
        let dup = customer(&store, &ctx, "Dup").await;
        store
            .post_purchase(&ctx, &purchase(&dup, 200_000, &[]), None)
            .await
            .unwrap();
        // The duplicate pays 10 points (1,000) at the checkout; the 99,000 left earns 9.
        let paid = NewPurchase {
            checkout: Some(CheckoutRequest {
                points: vafa_core::checkout::PointsWanted::Points(10),
                cashback_minor: 0,
            }),
            ..purchase(&dup, 100_000, &[])
        };
        let paid = store.post_purchase(&ctx, &paid, None).await.unwrap().value;
        assert_eq!(paid.points_earned, 9, "{name}");
        store
            .post_purchase(&ctx, &purchase(&keep, 50_000, &[]), None)
            .await
            .unwrap();
        store.merge_customers(&ctx, &keep, &dup).await.unwrap();

        let life = |b: &BalanceSnapshot| b.lifetime.clone().unwrap().points;
        let b = store.balance(&ctx.program_id, &keep, now()).await.unwrap();
        assert_eq!(b.points_available, 24, "{name}");
        let l = life(&b);
        assert_eq!(
            (l.earned, l.redeemed, l.transferred),
            (34, 10, 0),
            "{name}: one person's history, not a transfer from a stranger"
        );
        assert_lifetime_adds_up(&b, name);
        // The closed record keeps its own: what it earned and spent, and what left it.
        let gone = life(&store.balance(&ctx.program_id, &dup, now()).await.unwrap());
        assert_eq!(
            (gone.earned, gone.redeemed, gone.transferred),
            (29, 10, -19),
            "{name}"
        );

        // The survivor returns the duplicate's checkout: the points that paid come back,
        // and nothing it never spent shows as un-spent.
        store
            .return_purchase(
                &ctx,
                &paid.purchase_id,
                &ReturnRequest::Amount(100_000),
                None,
            )
            .await
            .unwrap();
        let b = store.balance(&ctx.program_id, &keep, now()).await.unwrap();
        let l = life(&b);
        assert_eq!(
            (b.points_available, l.earned, l.redeemed, l.returned),
            (25, 34, 0, 9),
            "{name}"
        );
        assert_lifetime_adds_up(&b, name);

        // Merged again into a third record: the first duplicate now names the last
        // survivor, whose history holds all three.
        let last = customer(&store, &ctx, "Last").await;
        store.merge_customers(&ctx, &last, &keep).await.unwrap();
        let first = store
            .get_customer(&ctx.program_id, &dup)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.merged_into.as_deref(), Some(last.as_str()), "{name}");
        let b = store.balance(&ctx.program_id, &last, now()).await.unwrap();
        let l = life(&b);
        assert_eq!(
            (
                b.points_available,
                l.earned,
                l.redeemed,
                l.returned,
                l.transferred
            ),
            (25, 34, 0, 9, 0),
            "{name}"
        );
        assert_lifetime_adds_up(&b, name);
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn points_transferred_to_a_customer_in_debt_pay_the_debt_first() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Gifts").await;
        let s = LedgerSettings {
            transfers_enabled: true,
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        let a = customer(&store, &ctx, "A").await;
        let b = customer_in_debt(&store, &ctx, "B").await;
        store
            .adjust(&ctx, &a, 50, "opening balance", None)
            .await
            .unwrap();
        store.transfer(&ctx, &a, &b, 15, None).await.unwrap();
        let got = store.balance(&ctx.program_id, &b, now()).await.unwrap();
        assert_eq!((got.points_available, got.points_debt), (5, 0), "{name}");
        assert_lifetime_adds_up(&got, name);
        verified(&store, name).await;
    })
    .await;
}

/// A return of the duplicate's purchase racing the merge that moves it: whichever wins,
/// the purchase's points are taken back once, from wherever they are, and nobody is
/// left owing for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_return_racing_a_merge_takes_back_from_wherever_the_points_went() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Merge race").await;
        let s = LedgerSettings {
            pending_days: 7,
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        for round in 0..12 {
            let keep = customer(&store, &ctx, "Keep").await;
            let dup = customer(&store, &ctx, "Dup").await;
            let p = store
                .post_purchase(&ctx, &purchase(&dup, 100_000, &[]), None)
                .await
                .unwrap()
                .value;
            let (s1, c1, k1, d1) = (store.clone(), ctx.clone(), keep.clone(), dup.clone());
            let merge = tokio::spawn(async move { s1.merge_customers(&c1, &k1, &d1).await });
            let (s2, c2, pid) = (store.clone(), ctx.clone(), p.purchase_id.clone());
            let ret = tokio::spawn(async move {
                s2.return_purchase(&c2, &pid, &ReturnRequest::Amount(100_000), None)
                    .await
            });
            merge.await.unwrap().unwrap();
            let r = ret.await.unwrap().unwrap().value;
            assert_eq!(
                (r.points_due, r.points_reversed, r.points_debt_added),
                (10, 10, 0),
                "{name} round {round}"
            );
            for c in [&keep, &dup] {
                let b = store.balance(&ctx.program_id, c, now()).await.unwrap();
                assert_eq!(
                    (b.points_available, b.points_pending, b.points_debt),
                    (0, 0, 0),
                    "{name} round {round}: {c}"
                );
            }
        }
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn a_debt_takes_points_still_pending_before_they_can_expire_beside_it() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Pending pays").await;
        let s = LedgerSettings {
            pending_days: 3,
            expiry: ExpiryPolicy::Days { days: 30 },
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        let c = customer(&store, &ctx, "Nima").await;
        let days = |d: i64| jiff::SignedDuration::from_hours(24 * d);
        let old = NewPurchase {
            occurred_at: now().checked_sub(days(5)).unwrap(),
            ..purchase(&c, 100_000, &[])
        };
        // Recorded when it happened: a sale entered late waits out its window from then.
        let then = vafa_store::Ctx {
            now: old.occurred_at,
            ..ctx.clone()
        };
        let old = store.post_purchase(&then, &old, None).await.unwrap().value;
        store
            .redeem(&ctx, &c, Spend::Points(10), None)
            .await
            .unwrap();
        store
            .post_purchase(&ctx, &purchase(&c, 50_000, &[]), None)
            .await
            .unwrap();
        // The 10 spent points come back: the 5 still pending pay half, 5 are owed.
        let r = store
            .return_purchase(
                &ctx,
                &old.purchase_id,
                &ReturnRequest::Amount(100_000),
                None,
            )
            .await
            .unwrap()
            .value;
        assert_eq!((r.points_reversed, r.points_debt_added), (10, 5), "{name}");
        let b = r.balance;
        assert_eq!(
            (b.points_available, b.points_pending, b.points_debt),
            (-5, 0, 5),
            "{name}"
        );
        // Nothing is left to expire beside the debt: a month on, the customer still
        // owes 5, not 10.
        let later = now().checked_add(days(31)).unwrap();
        store
            .expire_lots(&ctx.program_id, later, 100, 10)
            .await
            .unwrap();
        let b = store.balance(&ctx.program_id, &c, later).await.unwrap();
        assert_eq!(
            (b.points_available, b.points_debt, b.expiring_soon.len()),
            (-5, 5, 0),
            "{name}"
        );
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn one_entry_may_take_from_thousands_of_lots() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Busy card").await;
        let s = LedgerSettings {
            expiry: ExpiryPolicy::Days { days: 30 },
            ..Default::default()
        };
        store.set_ledger_settings(&ctx, &s).await.unwrap();
        let program = store.get_program(&ctx.program_id).await.unwrap().unwrap();
        let mut book = history::Book::new(&program, s.clone(), None, ctx.now).unwrap();
        // More postings than one SQLite statement could carry (9 parameters each).
        const LOTS: i64 = 4_000;
        let mut ids = Vec::new();
        for name in ["Spender", "Forgetful"] {
            let at = now();
            let mut c = vafa_core::customer::Customer::new(
                history::id_at("cus", ctx.now),
                ctx.program_id.clone(),
                ctx.now,
            );
            c.first_name = Some(name.into());
            ids.push(c.id.clone());
            book.add_customer(c);
            for i in 0..LOTS {
                let at = at
                    .checked_sub(jiff::SignedDuration::from_secs(LOTS - i))
                    .unwrap();
                book.credit(ids.last().unwrap(), 1, at, "opening").unwrap();
            }
        }
        store
            .write_history(&ctx, &book.take(ctx.now).unwrap())
            .await
            .unwrap();
        let spent = store
            .redeem(&ctx, &ids[0], Spend::Points(LOTS), None)
            .await
            .unwrap()
            .value;
        assert_eq!(spent.balance.points_available, 0, "{name}");
        // A month on, the other card's lots all expire in one entry.
        let later = now()
            .checked_add(jiff::SignedDuration::from_hours(24 * 31))
            .unwrap();
        let run = store
            .expire_lots(&ctx.program_id, later, 100, 10)
            .await
            .unwrap();
        assert_eq!(
            (run.lots_expired, run.points_expired),
            (LOTS, LOTS),
            "{name}"
        );
        verified(&store, name).await;
    })
    .await;
}
