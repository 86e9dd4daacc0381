//! Purchases written in batches (SQLite's purchase writer; one transaction each on
//! PostgreSQL): many at once share commits, a failing one spoils none of the others,
//! and other writes made meanwhile interleave without losing or doubling value.

use crate::ledger::{customer, purchase, verified};
use crate::{each_backend, now, program};
use std::collections::HashMap;
use vafa_store::*;

#[tokio::test]
async fn concurrent_purchases_share_commits_and_a_failing_one_spoils_none() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Batches").await;
        let mut customers = Vec::new();
        for i in 0..10 {
            customers.push(customer(&store, &ctx, &format!("C{i}")).await);
        }
        let mut first = purchase(&customers[0], 100_000, &[(1, 100_000)]);
        first.external_id = Some("R-taken".into());
        store.post_purchase(&ctx, &first, None).await.unwrap();
        let before = store.group_commit_stats();

        // 175 purchases at once; 50 of them must fail (an unknown customer, or a receipt
        // number already used for another sale) inside batches with good ones.
        let tasks: Vec<_> = (0..175)
            .map(|i| {
                let (store, ctx) = (store.clone(), ctx.clone());
                let c = customers[i % customers.len()].clone();
                tokio::spawn(async move {
                    let mut p = purchase(&c, 200_000, &[(2, 100_000)]);
                    p.external_id = Some(format!("R-{i}"));
                    let kind = match i % 7 {
                        3 => {
                            p.customer = CustomerRef::Id("cus_nobody".into());
                            "unknown"
                        }
                        5 => {
                            p.external_id = Some("R-taken".into());
                            "duplicate"
                        }
                        _ => "good",
                    };
                    (kind, c, store.post_purchase(&ctx, &p, None).await)
                })
            })
            .collect();
        let mut earned: HashMap<String, i64> = HashMap::new();
        let mut good = 0;
        for t in tasks {
            let (kind, c, result) = t.await.unwrap();
            match (kind, result) {
                ("good", Ok(out)) => {
                    good += 1;
                    *earned.entry(c).or_default() += out.value.points_earned;
                    let stored = store
                        .get_purchase(&ctx.program_id, &out.value.purchase_id)
                        .await
                        .unwrap();
                    assert!(stored.is_some(), "{name}: an answered purchase is stored");
                }
                ("unknown", Err(StoreError::NotFound("customer"))) => {}
                ("duplicate", Err(StoreError::DuplicatePurchase)) => {}
                (kind, other) => panic!("{name}: {kind} purchase answered {other:?}"),
            }
        }
        assert_eq!(good, 125, "{name}");
        if let (Some((c0, o0)), Some((c1, o1))) = (before, store.group_commit_stats()) {
            assert_eq!(
                o1 - o0,
                125,
                "{name}: every good purchase was committed, once"
            );
            assert!(
                c1 - c0 < 125,
                "{name}: {} commits for 125 purchases",
                c1 - c0
            );
        }
        for (i, c) in customers.iter().enumerate() {
            let expected = earned.get(c).copied().unwrap_or(0) + if i == 0 { 10 } else { 0 };
            let balance = store.balance(&ctx.program_id, c, now()).await.unwrap();
            assert_eq!(balance.points_available, expected, "{name}: customer {i}");
        }
        verified(&store, name).await;
    })
    .await;
}

#[tokio::test]
async fn purchases_interleave_with_other_writes() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Interleave").await;
        let mut customers = Vec::new();
        for i in 0..4 {
            let c = customer(&store, &ctx, &format!("C{i}")).await;
            store.adjust(&ctx, &c, 500, "opening", None).await.unwrap();
            customers.push(c);
        }
        // Purchases (the writer thread on SQLite), redemptions and adjustments (the
        // other writer) on the same customers at once.
        let tasks: Vec<_> = (0..120)
            .map(|i| {
                let (store, ctx) = (store.clone(), ctx.clone());
                let c = customers[i % customers.len()].clone();
                tokio::spawn(async move {
                    let delta = match i % 3 {
                        0 => store
                            .post_purchase(&ctx, &purchase(&c, 100_000, &[(1, 100_000)]), None)
                            .await
                            .map(|o| o.value.points_earned),
                        1 => store
                            .redeem(&ctx, &c, Spend::Points(30), None)
                            .await
                            .map(|_| -30),
                        _ => store.adjust(&ctx, &c, 7, "goodwill", None).await.map(|_| 7),
                    };
                    (c, delta)
                })
            })
            .collect();
        let mut expected: HashMap<String, i64> =
            customers.iter().map(|c| (c.clone(), 500)).collect();
        for t in tasks {
            let (c, delta) = t.await.unwrap();
            match delta {
                Ok(d) => *expected.entry(c).or_default() += d,
                Err(StoreError::InsufficientPoints { .. }) => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
        for c in &customers {
            let balance = store.balance(&ctx.program_id, c, now()).await.unwrap();
            assert_eq!(balance.points_available, expected[c], "{name}");
        }
        verified(&store, name).await;
    })
    .await;
}

/// Callers that go away mid-write (a client hangs up and its request is dropped) leave
/// no batch open: every write after them goes through, and each abandoned write either
/// happened whole or not at all.
#[tokio::test]
async fn writes_dropped_midway_leave_the_writers_free() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Hang-ups").await;
        let c = customer(&store, &ctx, "Roya").await;
        for round in 0..40u64 {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let (store, ctx, c) = (store.clone(), ctx.clone(), c.clone());
                    tokio::spawn(async move { store.adjust(&ctx, &c, 10, "hang-up", None).await })
                })
                .collect();
            // Let them get somewhere — a different distance each round — then drop them.
            for _ in 0..(round % 7) {
                tokio::task::yield_now().await;
            }
            for t in &tasks {
                t.abort();
            }
            for t in tasks {
                let _ = t.await;
            }
        }
        let sale = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            store.post_purchase(&ctx, &purchase(&c, 100_000, &[(1, 100_000)]), None),
        )
        .await;
        let earned = match sale {
            Ok(Ok(out)) => out.value.points_earned,
            Ok(Err(e)) => panic!("{name}: {e}"),
            Err(_) => panic!(
                "{name}: a purchase after dropped writes did not finish: the writer is stuck"
            ),
        };
        let adjusted = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            store.adjust(&ctx, &c, 1, "after", None),
        )
        .await
        .expect("an adjustment after dropped writes finishes")
        .unwrap();
        let balance = adjusted.value.balance.points_available;
        verified(&store, name).await;
        let kept = balance - earned - 1;
        assert!(
            kept % 10 == 0 && (0..=1600).contains(&kept),
            "{name}: {kept} points from whole adjustments only"
        );
    })
    .await;
}
