//! Coupons on both backends: a batch of unique codes generated in chunks with progress,
//! no duplicates and no look-alike characters; checks that write nothing; limits per
//! code, in total and per customer; and a single-use code tried by 50 concurrent
//! requests, of which exactly one succeeds.

use crate::ledger::customer;
use crate::{each_backend, program};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use vafa_core::coupons::{CouponDiscount, CouponRules, CODE_ALPHABET};
use vafa_store::*;

fn rules(percent: &str) -> CouponRules {
    CouponRules {
        discount: CouponDiscount::Percent {
            percent: percent.parse().unwrap(),
            max_minor: None,
        },
        min_cart_minor: 100_000,
        skus: Vec::new(),
        categories: Vec::new(),
        valid_from: None,
        valid_until: None,
        max_uses_per_customer: None,
        max_uses_total: None,
    }
}

fn cart(total: i64) -> CouponCart {
    CouponCart {
        lines: Vec::new(),
        total_minor: total,
        values: Vec::new(),
    }
}

#[tokio::test]
async fn unique_batches_shared_codes_and_limits() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Coupons").await;
        let seen = Arc::new(AtomicU64::new(0));
        let s2 = seen.clone();
        let batch = store
            .create_coupon_batch(
                &ctx,
                &NewCouponBatch {
                    name: "Launch".into(),
                    source: CouponSource::Pattern {
                        pattern: "LNCH-######".into(),
                        count: 2500,
                    },
                    rules: rules("10"),
                },
                &move |n| s2.store(n, Ordering::Relaxed),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                batch.generated,
                batch.status.as_str(),
                seen.load(Ordering::Relaxed)
            ),
            (2500, "ready", 2500),
            "{name}"
        );
        let mut codes = Vec::new();
        let mut after = String::new();
        loop {
            let page = store
                .coupon_codes(&ctx.program_id, &batch.id, &after, 1000)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = last.0.clone();
            codes.extend(page.into_iter().map(|c| c.0));
        }
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!((codes.len(), distinct.len()), (2500, 2500), "{name}");
        assert!(codes
            .iter()
            .all(|c| c.starts_with("LNCH-") && c[5..].bytes().all(|b| CODE_ALPHABET.contains(&b))));

        let a = customer(&store, &ctx, "A").await;
        let b = customer(&store, &ctx, "B").await;
        let code = &codes[0];
        let check = store
            .check_coupon(&ctx.program_id, code, Some(&a), &cart(250_000), ctx.now)
            .await
            .unwrap();
        assert_eq!(
            (check.discount_minor, check.uses, check.id.as_str()),
            (25_000, 0, "")
        );
        assert!(matches!(
            store.check_coupon(&ctx.program_id, code, Some(&a), &cart(99_000), ctx.now).await,
            Err(StoreError::CouponNotApplicable(m)) if m.contains("at least 100000")
        ));
        assert!(matches!(
            store
                .check_coupon(
                    &ctx.program_id,
                    "LNCH-XXXXXX",
                    Some(&a),
                    &cart(250_000),
                    ctx.now
                )
                .await,
            Err(StoreError::NotFound("coupon"))
        ));
        let idem = Idempotency {
            key: "k1".into(),
            fingerprint: "f".into(),
        };
        let used = store
            .redeem_coupon(&ctx, code, &a, &cart(250_000), None, Some(&idem))
            .await
            .unwrap();
        assert_eq!(
            (used.value.discount_minor, used.value.uses, used.replayed),
            (25_000, 1, false)
        );
        let again = store
            .redeem_coupon(&ctx, code, &a, &cart(250_000), None, Some(&idem))
            .await
            .unwrap();
        assert_eq!(
            (again.value, again.replayed),
            (used.value.clone(), true),
            "{name}: a replay is not a second use"
        );
        assert!(matches!(
            store
                .redeem_coupon(&ctx, code, &b, &cart(250_000), None, None)
                .await,
            Err(StoreError::CouponUsedUp)
        ));

        // A shared code: 2 uses in total, 1 per customer.
        let mut shared = rules("20");
        shared.max_uses_total = Some(2);
        shared.max_uses_per_customer = Some(1);
        store
            .create_coupon_batch(
                &ctx,
                &NewCouponBatch {
                    name: "Yalda".into(),
                    source: CouponSource::Shared {
                        code: "YALDA1405".into(),
                    },
                    rules: shared.clone(),
                },
                &|_| {},
            )
            .await
            .unwrap();
        let dup = store
            .create_coupon_batch(
                &ctx,
                &NewCouponBatch {
                    name: "Again".into(),
                    source: CouponSource::Shared {
                        code: "YALDA1405".into(),
                    },
                    rules: shared,
                },
                &|_| {},
            )
            .await;
        assert!(
            matches!(dup, Err(StoreError::DuplicateCouponCode)),
            "{name}"
        );
        store
            .redeem_coupon(&ctx, "YALDA1405", &a, &cart(100_000), None, None)
            .await
            .unwrap();
        assert!(matches!(
            store.redeem_coupon(&ctx, "YALDA1405", &a, &cart(100_000), None, None).await,
            Err(StoreError::CouponNotApplicable(m)) if m.contains("most allowed")
        ));
        store
            .redeem_coupon(&ctx, "YALDA1405", &b, &cart(100_000), None, None)
            .await
            .unwrap();
        let c = customer(&store, &ctx, "C").await;
        assert!(matches!(
            store
                .redeem_coupon(&ctx, "YALDA1405", &c, &cart(100_000), None, None)
                .await,
            Err(StoreError::CouponUsedUp)
        ));
        let batches = store.list_coupon_batches(&ctx.program_id).await.unwrap();
        let used: Vec<(String, i64)> = batches.iter().map(|b| (b.name.clone(), b.used)).collect();
        assert!(
            used.contains(&("Yalda".into(), 2)) && used.contains(&("Launch".into(), 1)),
            "{name}: {used:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_single_use_code_is_used_once_by_fifty_concurrent_requests() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Race").await;
        let batch = store
            .create_coupon_batch(
                &ctx,
                &NewCouponBatch {
                    name: "One".into(),
                    source: CouponSource::Pattern {
                        pattern: "ONE-######".into(),
                        count: 1,
                    },
                    rules: rules("10"),
                },
                &|_| {},
            )
            .await
            .unwrap();
        let code = store
            .coupon_codes(&ctx.program_id, &batch.id, "", 1)
            .await
            .unwrap()[0]
            .0
            .clone();
        let mut customers = Vec::new();
        for i in 0..50 {
            customers.push(customer(&store, &ctx, &format!("C{i}")).await);
        }
        let tries = customers.into_iter().map(|c| {
            let (store, ctx, code) = (store.clone(), ctx.clone(), code.clone());
            tokio::spawn(async move {
                store
                    .redeem_coupon(&ctx, &code, &c, &cart(500_000), None, None)
                    .await
            })
        });
        let mut ok = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::CouponUsedUp) => {}
                Err(e) => panic!("{name}: unexpected {e}"),
            }
        }
        assert_eq!(ok, 1, "{name}");
        let b = store
            .get_coupon_batch(&ctx.program_id, &batch.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.used, 1, "{name}");
    })
    .await;
}

/// After a merge a once-per-customer code counts the duplicate's use for the survivor.
#[tokio::test]
async fn a_merge_counts_the_duplicates_coupon_uses_for_the_survivor() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Merged coupons").await;
        let mut once = rules("10");
        once.max_uses_per_customer = Some(1);
        store
            .create_coupon_batch(
                &ctx,
                &NewCouponBatch {
                    name: "Once".into(),
                    source: CouponSource::Shared {
                        code: "ONCE1405".into(),
                    },
                    rules: once,
                },
                &|_| {},
            )
            .await
            .unwrap();
        let keep = customer(&store, &ctx, "Keep").await;
        let dup = customer(&store, &ctx, "Dup").await;
        store
            .redeem_coupon(&ctx, "ONCE1405", &dup, &cart(100_000), None, None)
            .await
            .unwrap();
        store.merge_customers(&ctx, &keep, &dup).await.unwrap();
        assert!(
            matches!(
                store.redeem_coupon(&ctx, "ONCE1405", &keep, &cart(100_000), None, None).await,
                Err(StoreError::CouponNotApplicable(m)) if m.contains("most allowed")
            ),
            "{name}: the code was used once by the person behind both records"
        );
    })
    .await;
}
