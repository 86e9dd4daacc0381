//! Model-based property test: random sequences of purchase (some paid partly with points
//! through the checkout), return, redeem, adjust, transfer, expire and clock advance,
//! against a simple reference model. After every
//! step each customer's balance equals the model's; after each case the ledger
//! verifies (zero sums, balances, lots, running balances).

use crate::ledger::customer;
use crate::program;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::Arc;
use vafa_core::ledger::{ExpiryPolicy, LedgerSettings};
use vafa_store::testing::backends;
use vafa_store::*;

const PENDING_H: i64 = 24;
const EXPIRY_H: i64 = 120;

#[derive(Debug, Clone)]
enum Op {
    /// `pay`: as much of it as the customer's points can pay, through the checkout.
    Purchase {
        c: usize,
        total: i64,
        pay: bool,
    },
    Return {
        p: usize,
        amount: i64,
    },
    Redeem {
        c: usize,
        points: i64,
    },
    Adjust {
        c: usize,
        points: i64,
    },
    Transfer {
        from: usize,
        points: i64,
    },
    Expire,
    Advance {
        hours: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 0..40_000i64, any::<bool>()).prop_map(|(c, total, pay)| Op::Purchase { c, total, pay }),
        2 => (0..8usize, 1..30_000i64).prop_map(|(p, amount)| Op::Return { p, amount }),
        3 => (0..2usize, 1..40i64).prop_map(|(c, points)| Op::Redeem { c, points }),
        1 => (0..2usize, 1..30i64).prop_map(|(c, points)| Op::Adjust { c, points }),
        1 => (0..2usize, 1..20i64).prop_map(|(from, points)| Op::Transfer { from, points }),
        1 => Just(Op::Expire),
        2 => (1..60i64).prop_map(|hours| Op::Advance { hours }),
    ]
}

#[derive(Debug, Clone)]
struct MLot {
    seq: usize,
    remaining: i64,
    /// Taken by posted expiries.
    expired: i64,
    available: i64,
    expires: i64,
}

#[derive(Debug, Default, Clone)]
struct MCustomer {
    lots: Vec<MLot>,
    debt: i64,
}

impl MCustomer {
    fn spendable(&self, t: i64) -> impl Iterator<Item = &MLot> {
        self.lots
            .iter()
            .filter(move |l| l.remaining > 0 && l.available <= t && l.expires > t)
    }
    fn available(&self, t: i64) -> i64 {
        self.spendable(t).map(|l| l.remaining).sum::<i64>() - self.debt
    }
    fn pending(&self, t: i64) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.remaining > 0 && l.available > t && l.expires > t)
            .map(|l| l.remaining)
            .sum()
    }
    /// Take `n` from spendable lots, soonest expiry first; returns (expires, taken) per lot.
    fn take(&mut self, mut n: i64, t: i64) -> Vec<(i64, i64)> {
        let mut order: Vec<usize> = (0..self.lots.len()).collect();
        order.sort_by_key(|&i| {
            (
                self.lots[i].expires,
                self.lots[i].available,
                self.lots[i].seq,
            )
        });
        let mut taken = Vec::new();
        for i in order {
            let l = &mut self.lots[i];
            if n == 0 || l.remaining <= 0 || l.available > t || l.expires <= t {
                continue;
            }
            let k = l.remaining.min(n);
            l.remaining -= k;
            n -= k;
            taken.push((l.expires, k));
        }
        taken
    }
    /// Take `n` from pending lots, soonest expiry first; returns what was taken.
    fn take_pending(&mut self, mut n: i64, t: i64) -> i64 {
        let mut order: Vec<usize> = (0..self.lots.len()).collect();
        order.sort_by_key(|&i| {
            (
                self.lots[i].expires,
                self.lots[i].available,
                self.lots[i].seq,
            )
        });
        let want = n;
        for i in order {
            let l = &mut self.lots[i];
            if n == 0 || l.remaining <= 0 || l.available <= t || l.expires <= t {
                continue;
            }
            let k = l.remaining.min(n);
            l.remaining -= k;
            n -= k;
        }
        want - n
    }
    fn earn(&mut self, points: i64, seq: usize, available: i64, expires: i64) {
        let paid = points.min(self.debt);
        self.debt -= paid;
        self.lots.push(MLot {
            expired: 0,
            seq,
            remaining: points - paid,
            available,
            expires,
        });
    }
}

struct MPurchase {
    c: usize,
    id: String,
    seq: usize,
    total: i64,
    earned: i64,
    /// Taken back by its returns so far.
    reversed: i64,
    returned: i64,
    /// Points that paid, and when the latest lot they came from expires.
    paid_points: i64,
    spent_expiry: i64,
}

fn pro_rata(whole: i64, of: i64, before: i64, after: i64) -> i64 {
    if of == 0 {
        return 0;
    }
    whole * after / of - whole * before / of
}

async fn run_case(store: &Arc<dyn Store>, ops: Vec<Op>) {
    let base = crate::now();
    let mut ctx = program(store, "Model").await;
    let settings = LedgerSettings {
        earn_points: 1,
        earn_per_minor: 1000,
        pending_days: 1,
        expiry: ExpiryPolicy::Days { days: 5 },
        transfers_enabled: true,
        transfer_max_points: 1000,
        ..Default::default()
    };
    store.set_ledger_settings(&ctx, &settings).await.unwrap();
    let ids = [
        customer(store, &ctx, "M0").await,
        customer(store, &ctx, "M1").await,
    ];
    let mut model = [MCustomer::default(), MCustomer::default()];
    let mut purchases: Vec<MPurchase> = Vec::new();
    let (mut t, mut seq) = (0i64, 0usize);
    for (step, op) in ops.into_iter().enumerate() {
        let expiries_posted = matches!(op, Op::Expire);
        ctx.now = base
            .checked_add(jiff::SignedDuration::from_hours(t))
            .unwrap();
        seq += 1;
        match op {
            Op::Purchase { c, total, pay } => {
                let p = NewPurchase {
                    coupons: Vec::new(),
                    checkout: pay.then_some(CheckoutRequest {
                        points: vafa_core::checkout::PointsWanted::Max,
                        cashback_minor: 0,
                    }),
                    occurred_at: ctx.now,
                    ..crate::ledger::purchase(&ids[c], total, &[])
                };
                let out = store.post_purchase(&ctx, &p, None).await.unwrap().value;
                // A point pays 100 (the default value); what is left in money earns.
                let paid_points = if pay {
                    model[c].available(t).max(0).min(total / 100)
                } else {
                    0
                };
                let taken = model[c].take(paid_points, t);
                let spent_expiry = taken.iter().map(|x| x.0).max().unwrap_or(t);
                let points = (total - paid_points * 100) / 1000;
                assert_eq!(out.points_earned, points, "step {step}");
                model[c].earn(points, seq, t + PENDING_H, t + PENDING_H + EXPIRY_H);
                purchases.push(MPurchase {
                    c,
                    id: out.purchase_id,
                    seq,
                    total,
                    earned: points,
                    reversed: 0,
                    returned: 0,
                    paid_points,
                    spent_expiry,
                });
            }
            Op::Return { p, amount } => {
                let Some(mp) = purchases.get_mut(p) else {
                    continue;
                };
                let res = store
                    .return_purchase(&ctx, &mp.id, &ReturnRequest::Amount(amount), None)
                    .await;
                if amount > mp.total - mp.returned {
                    assert!(
                        matches!(res, Err(StoreError::ReturnTooLarge { .. })),
                        "step {step}: {res:?}"
                    );
                    continue;
                }
                let due = pro_rata(mp.earned, mp.total, mp.returned, mp.returned + amount);
                // The points that paid come back in the returned share, in a lot of their
                // own that the reversal may take from; what is left pays a debt.
                let refund = pro_rata(mp.paid_points, mp.total, mp.returned, mp.returned + amount);
                mp.returned += amount;
                let m = &mut model[mp.c];
                if refund > 0 {
                    m.lots.push(MLot {
                        expired: 0,
                        seq,
                        remaining: refund,
                        available: t,
                        expires: mp.spent_expiry,
                    });
                }
                // What expired of the purchase's own points is not taken again.
                let expired_own = m
                    .lots
                    .iter()
                    .find(|l| l.seq == mp.seq && l.expires <= t)
                    .map_or(0, |l| l.expired + l.remaining);
                let mut left = due.min((mp.earned - expired_own - mp.reversed).max(0));
                mp.reversed += left;
                if let Some(own) = m.lots.iter_mut().find(|l| l.seq == mp.seq && l.expires > t) {
                    let k = own.remaining.min(left);
                    own.remaining -= k;
                    left -= k;
                }
                let took: i64 = m.take(left, t).iter().map(|x| x.1).sum();
                // Then other points still pending, before anything is owed.
                let took = took + m.take_pending(left - took, t);
                m.debt += left - took;
                if let Some(back) = m
                    .lots
                    .iter_mut()
                    .find(|l| refund > 0 && l.seq == seq && l.expires > t)
                {
                    let paid = back.remaining.min(m.debt);
                    back.remaining -= paid;
                    m.debt -= paid;
                }
                let out = res.unwrap().value;
                assert_eq!(
                    (out.points_due, out.points_refunded),
                    (due, refund),
                    "step {step}"
                );
            }
            Op::Redeem { c, points } => {
                let res = store
                    .redeem(&ctx, &ids[c], Spend::Points(points), None)
                    .await;
                if points <= model[c].available(t) {
                    res.unwrap();
                    model[c].take(points, t);
                } else {
                    assert!(
                        matches!(res, Err(StoreError::InsufficientPoints { .. })),
                        "step {step}: {res:?}"
                    );
                }
            }
            Op::Adjust { c, points } => {
                store
                    .adjust(&ctx, &ids[c], points, "model", None)
                    .await
                    .unwrap();
                model[c].earn(points, seq, t, t + EXPIRY_H);
            }
            Op::Transfer { from, points } => {
                let to = 1 - from;
                let res = store
                    .transfer(&ctx, &ids[from], &ids[to], points, None)
                    .await;
                if points <= model[from].available(t) {
                    res.unwrap();
                    // Received points pay the receiver's debt first, as earnings do.
                    for (expires, k) in model[from].take(points, t) {
                        model[to].earn(k, seq, t, expires);
                    }
                } else {
                    assert!(
                        matches!(res, Err(StoreError::InsufficientPoints { .. })),
                        "step {step}: {res:?}"
                    );
                }
            }
            Op::Expire => {
                store
                    .expire_lots(&ctx.program_id, ctx.now, 3, 100)
                    .await
                    .unwrap();
                for m in model.iter_mut() {
                    m.lots.iter_mut().filter(|l| l.expires <= t).for_each(|l| {
                        l.expired += l.remaining;
                        l.remaining = 0;
                    });
                }
            }
            Op::Advance { hours } => t += hours,
        }
        let now = base
            .checked_add(jiff::SignedDuration::from_hours(t))
            .unwrap();
        for (c, m) in model.iter().enumerate() {
            let b = store.balance(&ctx.program_id, &ids[c], now).await.unwrap();
            let want = (m.available(t), m.pending(t), m.debt);
            assert_eq!(
                (b.points_available, b.points_pending, b.points_debt),
                want,
                "step {step}, customer {c}"
            );
            // The lifetime totals account for every movement: the wallet always, the
            // points once the expiries due are posted.
            let life = b.lifetime.clone().unwrap();
            assert_eq!(
                life.cashback_earned_minor
                    - life.cashback_redeemed_minor
                    - life.cashback_returned_minor
                    + life.cashback_transferred_minor,
                b.cashback_minor,
                "step {step}, customer {c}: {life:?}"
            );
            if expiries_posted {
                let p = &life.points;
                assert_eq!(
                    p.earned - p.redeemed - p.expired - p.returned + p.adjusted + p.transferred,
                    // `available` is already less the debt.
                    b.points_available + b.points_pending,
                    "step {step}, customer {c}: {life:?}"
                );
            }
        }
    }
    let report = store.verify_ledger(Some(&ctx.program_id)).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

#[test]
fn the_ledger_matches_a_reference_model() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for db in rt.block_on(backends()) {
        let store = rt.block_on(db.open());
        let cases = match db.backend {
            Backend::Sqlite => 96,
            Backend::Postgres => 32,
        };
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
            rt.block_on(run_case(&store, ops));
            Ok(())
        });
        if let Err(e) = result {
            panic!("{:?}: {e}", db.backend);
        }
    }
}

/// Sequences the search once found, run every time: a purchase whose points expired and
/// were posted as expired, then partly returned — nothing is taken back a second time.
#[test]
fn sequences_found_before_still_match_the_model() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let found = vec![vec![
        Op::Purchase {
            c: 0,
            total: 0,
            pay: false,
        },
        Op::Purchase {
            c: 0,
            total: 7982,
            pay: false,
        },
        Op::Advance { hours: 15 },
        Op::Advance { hours: 52 },
        Op::Advance { hours: 53 },
        Op::Expire,
        Op::Return { p: 1, amount: 1141 },
    ]];
    for db in rt.block_on(backends()) {
        let store = rt.block_on(db.open());
        for ops in &found {
            rt.block_on(run_case(&store, ops.clone()));
        }
    }
}
