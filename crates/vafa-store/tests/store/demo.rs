//! The demo program: deterministic for a seed, consistent ledger, believable shape.

use crate::each_backend;
use vafa_store::demo::{generate, DemoOptions};

fn options(seed: u64) -> DemoOptions {
    DemoOptions {
        customers: 400,
        months: 14,
        seed,
        now: "2026-11-20T12:00:00Z".parse().unwrap(),
    }
}

#[tokio::test]
async fn demo_is_deterministic_and_its_ledger_verifies() {
    each_backend(|store, backend| async move {
        let seen = std::sync::Mutex::new(Vec::new());
        let a = generate(store.as_ref(), &options(7), &|p| {
            seen.lock().unwrap().push(p.customers_done)
        })
        .await
        .unwrap();
        let b = generate(store.as_ref(), &options(7), &|_| {})
            .await
            .unwrap();
        let c = generate(store.as_ref(), &options(8), &|_| {})
            .await
            .unwrap();
        let figures = |r: &vafa_store::demo::DemoReport| {
            (
                r.customers,
                r.purchases,
                r.revenue_minor,
                r.returns,
                r.returned_minor,
                r.redemptions,
                r.points_redeemed,
                r.points_earned,
                r.upgrades,
            )
        };
        assert_eq!(
            figures(&a),
            figures(&b),
            "{backend}: same seed, same figures"
        );
        assert_ne!(
            figures(&a),
            figures(&c),
            "{backend}: another seed, other figures"
        );
        assert_eq!(*seen.lock().unwrap().last().unwrap(), 400);
        assert!(a.purchases > 1_000, "{backend}: {} purchases", a.purchases);
        assert!(
            a.returns > 0 && a.redemptions > 0 && a.upgrades > 0,
            "{backend}: {a:?}"
        );

        let report = store.verify_ledger(None).await.unwrap();
        assert!(
            report.problems.is_empty(),
            "{backend}: {:?}",
            report.problems
        );
        assert!(report.entries > a.purchases as i64);
        assert!(a.points_earned > a.points_redeemed, "{backend}: {a:?}");

        // What the store reads back agrees with what the demo says it wrote.
        let now: jiff::Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        let rows = store.purchase_rows(&a.program_id, now).await.unwrap();
        assert_eq!(rows.len() as u64, a.purchases, "{backend}");
        let net: i64 = rows.iter().map(|r| r.net_minor).sum();
        assert_eq!(net, a.revenue_minor - a.returned_minor, "{backend}");
        // Revenue concentrates: the top fifth of buyers bring well over a fifth of it.
        let mut per: std::collections::HashMap<&str, i64> = Default::default();
        for r in &rows {
            *per.entry(r.customer_id.as_str()).or_default() += r.net_minor;
        }
        let mut v: Vec<i64> = per.into_values().collect();
        v.sort_unstable_by(|x, y| y.cmp(x));
        let top: i64 = v.iter().take(v.len() / 5).sum();
        assert!(
            top * 100 / net > 40,
            "{backend}: top 20% bring {}%",
            top * 100 / net
        );
        // Tiers and keys exist and work.
        assert!(store
            .authenticate(&a.cashier_key.api_key, jiff::Timestamp::now())
            .await
            .unwrap()
            .is_some());
        assert_eq!(store.list_rewards(&a.program_id).await.unwrap().len(), 4);
    })
    .await;
}

#[tokio::test]
async fn a_history_chunk_that_clashes_writes_nothing() {
    each_backend(|store, backend| async move {
        let ctx = crate::program(&store, "Clash").await;
        let mobile = vafa_core::mobile::Mobile::parse("09121230000").unwrap();
        let taken = vafa_core::customer::ProfilePatch {
            mobile: vafa_core::patch::Patch::Value(mobile.clone()),
            ..Default::default()
        };
        store.create_customer(&ctx, taken).await.unwrap();
        let program = store.get_program(&ctx.program_id).await.unwrap().unwrap();
        let settings = store.ledger_settings(&ctx.program_id).await.unwrap();
        let mut book = vafa_store::history::Book::new(&program, settings, None, ctx.now).unwrap();
        for (i, m) in ["09121239999", "09121230000"].iter().enumerate() {
            let mut c = vafa_core::customer::Customer::new(
                vafa_store::history::id_at("cus", ctx.now),
                ctx.program_id.clone(),
                ctx.now,
            );
            c.mobile = Some(vafa_core::mobile::Mobile::parse(m).unwrap());
            let id = c.id.clone();
            book.add_customer(c);
            book.credit(&id, 100 + i as i64, ctx.now, "opening")
                .unwrap();
        }
        let rows = book.take(ctx.now).unwrap();
        let err = store.write_history(&ctx, &rows).await.unwrap_err();
        assert!(
            matches!(err, vafa_store::StoreError::DuplicateMobile),
            "{backend}: {err:?}"
        );
        let page = store
            .list_customers(&ctx.program_id, &vafa_store::CustomerQuery::default())
            .await
            .unwrap();
        assert_eq!(
            page.items.len(),
            1,
            "{backend}: nothing of the chunk was written"
        );
        let report = store.verify_ledger(Some(&ctx.program_id)).await.unwrap();
        assert_eq!((report.entries, report.problems.len()), (0, 0), "{backend}");
    })
    .await;
}
