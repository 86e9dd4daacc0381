//! Model-based property test: random sequences of purchase (some paid partly with points
//! through the checkout), return, redeem, adjust, transfer, expire, tier evaluation and
//! clock advance, against a simple reference model. The program has a tier whose entry
//! gift is pending with the purchase that crossed its threshold and taken back by any
//! return that leaves the customer below it. After every
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
/// Silver: lifetime spend net of returns at least this, with an entry gift of GIFT points.
const SILVER: i64 = 25_000;
const GIFT: i64 = 7;

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
    /// All that is left of purchase `p` (a full return drops a customer below a tier).
    ReturnRest {
        p: usize,
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
    /// The periodic tier evaluation (no grace: below the threshold is a downgrade).
    Evaluate,
    Advance {
        hours: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 0..40_000i64, any::<bool>()).prop_map(|(c, total, pay)| Op::Purchase { c, total, pay }),
        2 => (0..8usize, 1..30_000i64).prop_map(|(p, amount)| Op::Return { p, amount }),
        1 => (0..8usize).prop_map(|p| Op::ReturnRest { p }),
        3 => (0..2usize, 1..40i64).prop_map(|(c, points)| Op::Redeem { c, points }),
        1 => (0..2usize, 1..30i64).prop_map(|(c, points)| Op::Adjust { c, points }),
        1 => (0..2usize, 1..20i64).prop_map(|(from, points)| Op::Transfer { from, points }),
        1 => Just(Op::Expire),
        1 => Just(Op::Evaluate),
        2 => (1..60i64).prop_map(|hours| Op::Advance { hours }),
    ]
}

#[derive(Debug, Clone)]
struct MLot {
    seq: usize,
    /// A tier's entry gift (its `seq` is the purchase's that brought it).
    gift: bool,
    /// Creation order: the last key of the spend order, as lot ids are.
    order: usize,
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
    /// 0 simple, 1 silver.
    level: usize,
    lots_made: usize,
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
                self.lots[i].order,
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
                self.lots[i].order,
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
        self.earn_lot(points, seq, false, available, expires);
    }
    fn earn_lot(&mut self, points: i64, seq: usize, gift: bool, available: i64, expires: i64) {
        let paid = points.min(self.debt);
        self.debt -= paid;
        self.push_lot(seq, gift, points - paid, available, expires);
    }
    fn push_lot(&mut self, seq: usize, gift: bool, remaining: i64, available: i64, expires: i64) {
        self.lots_made += 1;
        self.lots.push(MLot {
            expired: 0,
            seq,
            gift,
            order: self.lots_made,
            remaining,
            available,
            expires,
        });
    }
    /// Reverse `n` points of a lot of its own (the purchase's, or its gift's) under
    /// allow_negative: that lot, other spendable points, other pending points, then a debt.
    fn reverse(&mut self, mut n: i64, own: impl Fn(&MLot) -> bool, t: i64) {
        if let Some(l) = self.lots.iter_mut().find(|l| own(l) && l.expires > t) {
            let k = l.remaining.min(n);
            l.remaining -= k;
            n -= k;
        }
        let took: i64 = self.take(n, t).iter().map(|x| x.1).sum();
        let took = took + self.take_pending(n - took, t);
        self.debt += n - took;
    }
    /// What of a lot of its own expired (posted or not).
    fn expired_of(&self, own: impl Fn(&MLot) -> bool, t: i64) -> i64 {
        self.lots
            .iter()
            .find(|l| own(l) && l.expires <= t)
            .map_or(0, |l| l.expired + l.remaining)
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
    /// It upgraded its customer (with the gift), and how much of the gift was taken back.
    gift: bool,
    gift_taken: i64,
}

/// A customer's qualifying value: lifetime spend net of returns.
fn qualifying(purchases: &[MPurchase], c: usize) -> i64 {
    purchases
        .iter()
        .filter(|p| p.c == c)
        .map(|p| p.total - p.returned)
        .sum()
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
    let tier = |code: &str, threshold: i64, gift: i64| vafa_core::tiers::Tier {
        code: code.into(),
        name: code.into(),
        name_en: None,
        threshold,
        earn_multiplier: "1".parse().unwrap(),
        discount_percent: "0".parse().unwrap(),
        entry_gift_points: gift,
        free_items: Vec::new(),
    };
    let ladder = vafa_core::tiers::TierLadder {
        metric: vafa_core::tiers::TierMetric::Spend,
        window: vafa_core::tiers::TierWindow::Lifetime,
        grace_days: 0,
        tiers: vec![tier("simple", 0, 0), tier("silver", SILVER, GIFT)],
    };
    store.set_tier_ladder(&ctx, &ladder).await.unwrap();
    let ids = [
        customer(store, &ctx, "M0").await,
        customer(store, &ctx, "M1").await,
    ];
    let mut model = [MCustomer::default(), MCustomer::default()];
    let mut purchases: Vec<MPurchase> = Vec::new();
    let (mut t, mut seq) = (0i64, 0usize);
    for (step, op) in ops.into_iter().enumerate() {
        let op = match op {
            Op::ReturnRest { p } => match purchases.get(p) {
                Some(mp) if mp.total > mp.returned => Op::Return {
                    p,
                    amount: mp.total - mp.returned,
                },
                _ => continue,
            },
            op => op,
        };
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
                    gift: false,
                    gift_taken: 0,
                });
                // Past silver: upgraded by this purchase, its gift pending with its points.
                // Still silver, past it again, after returns took every gift back whole:
                // the gift again, the same way.
                let up = model[c].level == 0 && qualifying(&purchases, c) >= SILVER;
                let gifts = || purchases.iter().filter(|p| p.c == c && p.gift);
                let regift = model[c].level == 1
                    && qualifying(&purchases, c) >= SILVER
                    && gifts().any(|p| p.gift_taken == GIFT)
                    && gifts().all(|p| p.gift_taken == GIFT);
                let kind = out.tier_change.as_ref().map(|t| t.kind.as_str());
                let want = match (up, regift) {
                    (true, _) => Some("upgrade"),
                    (false, true) => Some("regift"),
                    (false, false) => None,
                };
                assert_eq!(kind, want, "step {step}");
                if up || regift {
                    model[c].level = 1;
                    model[c].earn_lot(GIFT, seq, true, t + PENDING_H, t + PENDING_H + EXPIRY_H);
                    if let Some(last) = purchases.last_mut() {
                        last.gift = true;
                    }
                }
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
                let (c, pseq) = (mp.c, mp.seq);
                let m = &mut model[c];
                if refund > 0 {
                    m.push_lot(seq, false, refund, t, mp.spent_expiry);
                }
                // What expired of the purchase's own points is not taken again.
                let own = |l: &MLot| l.seq == pseq && !l.gift;
                let left = due.min((mp.earned - m.expired_of(own, t) - mp.reversed).max(0));
                mp.reversed += left;
                m.reverse(left, own, t);
                // Below silver now: every gift a purchase gave this customer and returns
                // have not taken back goes back, newest first, less what of it expired —
                // whichever purchase comes back.
                let below = qualifying(&purchases, c) < SILVER;
                let mut gift_back = 0;
                let givers: Vec<usize> = (0..purchases.len())
                    .rev()
                    .filter(|&i| {
                        below
                            && purchases[i].c == c
                            && purchases[i].gift
                            && purchases[i].gift_taken < GIFT
                    })
                    .collect();
                for i in givers {
                    let gseq = purchases[i].seq;
                    let m = &mut model[c];
                    let its_gift = |l: &MLot| l.seq == gseq && l.gift;
                    let back = (GIFT - purchases[i].gift_taken - m.expired_of(its_gift, t)).max(0);
                    m.reverse(back, its_gift, t);
                    purchases[i].gift_taken += back;
                    gift_back += back;
                }
                let m = &mut model[c];
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
                    (
                        out.points_due,
                        out.points_refunded,
                        out.tier_gift_points_reversed
                    ),
                    (due, refund, gift_back),
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
            Op::Evaluate => {
                let run = store.evaluate_tiers(&ctx).await.unwrap();
                let mut down = 0;
                for (c, m) in model.iter_mut().enumerate() {
                    let q = qualifying(&purchases, c);
                    if m.level == 1 && q < SILVER {
                        m.level = 0;
                        down += 1;
                    }
                    // A purchase upgrades at once: the evaluation never has to.
                    assert!(m.level == 1 || q < SILVER, "step {step}");
                }
                assert_eq!((run.downgraded, run.upgraded), (down, 0), "step {step}");
            }
            Op::Advance { hours } => t += hours,
            Op::ReturnRest { .. } => unreachable!("read as a return above"),
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

/// Sequences run every time: one the search once found (a purchase whose points expired
/// and were posted as expired, then partly returned — nothing is taken back a second
/// time), and a tier gift farmed by buying and returning.
#[test]
fn sequences_found_before_still_match_the_model() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let found = vec![
        vec![
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
        ],
        // Past silver, returned whole, past silver again before any evaluation: the gift
        // again (it had been taken back); returned again, taken back again.
        vec![
            Op::Purchase {
                c: 0,
                total: 30_000,
                pay: false,
            },
            Op::ReturnRest { p: 0 },
            Op::Purchase {
                c: 0,
                total: 26_000,
                pay: false,
            },
            Op::Advance { hours: 30 },
            Op::Purchase {
                c: 0,
                total: 1_000,
                pay: false,
            },
            Op::ReturnRest { p: 1 },
            Op::Evaluate,
        ],
        // Past silver, the points and the gift spent, all returned: both owed back; the
        // downgrade, and past silver again: a second gift, taken back again.
        vec![
            Op::Purchase {
                c: 0,
                total: 30_000,
                pay: false,
            },
            Op::Advance { hours: 30 },
            Op::Redeem { c: 0, points: 37 },
            Op::ReturnRest { p: 0 },
            Op::Evaluate,
            Op::Purchase {
                c: 0,
                total: 26_000,
                pay: false,
            },
            Op::ReturnRest { p: 1 },
            Op::Evaluate,
        ],
        // The gift came with the second purchase; returning the first leaves the customer
        // below silver, and takes it back all the same.
        vec![
            Op::Purchase {
                c: 0,
                total: 20_000,
                pay: false,
            },
            Op::Purchase {
                c: 0,
                total: 6_000,
                pay: false,
            },
            Op::ReturnRest { p: 0 },
        ],
    ];
    for db in rt.block_on(backends()) {
        let store = rt.block_on(db.open());
        for ops in &found {
            rt.block_on(run_case(&store, ops.clone()));
        }
    }
}
