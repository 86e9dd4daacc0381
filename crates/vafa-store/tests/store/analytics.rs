//! The per-customer sales summary kept by triggers (migration 0006): it follows
//! purchases and returns, analytics over the whole history read it, any other window
//! groups the purchases, and `verify_ledger` catches a summary that drifted.

use crate::ledger::{customer, purchase};
use crate::{now, program};
use sqlx::Connection;
use vafa_store::testing::backends;
use vafa_store::*;

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn the_sales_summary_follows_purchases_and_returns() {
    for db in backends().await {
        let store = db.open().await;
        let ctx = program(&store, "Summary").await;
        let (a, b) = (
            customer(&store, &ctx, "A").await,
            customer(&store, &ctx, "B").await,
        );
        let buy = |c: &str, total: i64, at: &str| {
            let mut p = purchase(c, total, &[(1, total)]);
            p.occurred_at = ts(at);
            p
        };
        let p1 = store
            .post_purchase(&ctx, &buy(&a, 1000, "2026-01-10T08:00:00Z"), None)
            .await
            .unwrap()
            .value;
        // Out of order: an older receipt arriving later still moves first_at back.
        for p in [
            buy(&a, 500, "2026-03-01T08:00:00Z"),
            buy(&a, 200, "2025-12-01T08:00:00Z"),
            buy(&b, 700, "2026-02-15T08:00:00Z"),
        ] {
            store.post_purchase(&ctx, &p, None).await.unwrap();
        }
        store
            .return_purchase(&ctx, &p1.purchase_id, &ReturnRequest::Amount(300), None)
            .await
            .unwrap();

        let backend = format!("{:?}", db.backend);
        let mut all = store
            .customer_aggregates(&ctx.program_id, jiff::Timestamp::UNIX_EPOCH, now())
            .await
            .unwrap();
        all.sort_by(|x, y| x.customer_id.cmp(&y.customer_id));
        let mut expected = vec![
            (
                a.clone(),
                3,
                1400,
                ts("2025-12-01T08:00:00Z"),
                ts("2026-03-01T08:00:00Z"),
            ),
            (
                b.clone(),
                1,
                700,
                ts("2026-02-15T08:00:00Z"),
                ts("2026-02-15T08:00:00Z"),
            ),
        ];
        expected.sort();
        let got: Vec<_> = all
            .iter()
            .map(|x| {
                (
                    x.customer_id.clone(),
                    x.purchases,
                    x.net_minor,
                    x.first_at,
                    x.last_at,
                )
            })
            .collect();
        assert_eq!(got, expected, "{backend}: whole history, from the summary");

        // A window that cuts the history groups the purchases inside it.
        let part = store
            .customer_aggregates(
                &ctx.program_id,
                ts("2026-01-01T00:00:00Z"),
                ts("2026-02-20T00:00:00Z"),
            )
            .await
            .unwrap();
        let mut got: Vec<_> = part
            .iter()
            .map(|x| (x.customer_id.clone(), x.purchases, x.net_minor))
            .collect();
        got.sort();
        let mut want = vec![(a.clone(), 1, 700), (b.clone(), 1, 700)];
        want.sort();
        assert_eq!(got, want, "{backend}: a window inside the history");

        let report = store.verify_ledger(None).await.unwrap();
        assert!(
            report.problems.is_empty(),
            "{backend}: {:#?}",
            report.problems
        );

        // Drift the summary behind the triggers' back: verify must say so.
        let corrupt = "UPDATE customer_sales SET net_minor = net_minor + 1";
        match db.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                sqlx::query(corrupt).execute(&mut c).await.unwrap();
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query(corrupt).execute(&mut c).await.unwrap();
            }
        }
        let report = store.verify_ledger(None).await.unwrap();
        assert_eq!(
            report
                .problems
                .iter()
                .filter(|p| p.starts_with("customer sales summary differs"))
                .count(),
            2,
            "{backend}: {:#?}",
            report.problems
        );
    }
}
