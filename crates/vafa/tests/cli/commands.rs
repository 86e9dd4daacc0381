//! Programs, keys, migrations, verification and serving, from the command line.

use crate::server::Server;
use crate::{json, vafa};
use std::io::{Read, Write};
use vafa_store::testing::backends;

#[tokio::test]
async fn programs_and_keys_from_the_command_line() {
    for db in backends().await {
        let url = db.url.as_str();
        let p = json(&vafa(
            url,
            &["program", "create", "--name", "کافه وفا", "--json"],
        ));
        let program_id = p["program_id"].as_str().unwrap();
        assert!(p["api_key"].as_str().unwrap().starts_with("vk_"));

        let store = db.open().await;
        let admin = store
            .authenticate(p["api_key"].as_str().unwrap(), jiff::Timestamp::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(admin.program_id, program_id);

        let k = json(&vafa(
            url,
            &[
                "apikey",
                "create",
                "--program",
                program_id,
                "--role",
                "cashier",
                "--name",
                "till",
                "--json",
            ],
        ));
        let key = k["api_key"].as_str().unwrap();
        let cashier = store
            .authenticate(key, jiff::Timestamp::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cashier.role, vafa_core::auth::Role::Cashier);

        let revoked = vafa(
            url,
            &[
                "apikey",
                "revoke",
                "--program",
                program_id,
                "--key",
                k["key_id"].as_str().unwrap(),
            ],
        );
        assert!(revoked.status.success());
        assert!(
            store
                .authenticate(key, jiff::Timestamp::now())
                .await
                .unwrap()
                .is_none(),
            "a revoked key stops at once"
        );

        let listed = json(&vafa(
            url,
            &["apikey", "list", "--program", program_id, "--json"],
        ));
        assert_eq!(listed.as_array().unwrap().len(), 2);

        let bad_role = vafa(
            url,
            &[
                "apikey",
                "create",
                "--program",
                program_id,
                "--role",
                "owner",
            ],
        );
        assert!(!bad_role.status.success());
        assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
        let bad_program = vafa(
            url,
            &[
                "apikey",
                "create",
                "--program",
                "prg_nope",
                "--role",
                "admin",
            ],
        );
        assert!(!bad_program.status.success());
        let bad_zone = vafa(
            url,
            &[
                "program",
                "create",
                "--name",
                "x",
                "--timezone",
                "Mars/Base",
            ],
        );
        assert!(String::from_utf8_lossy(&bad_zone.stderr).contains("timezone"));

        // The program's first person for the admin UI, the password from the environment.
        let staff = |password: Option<&str>| {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vafa"));
            cmd.args([
                "staff",
                "create",
                "--program",
                program_id,
                "--username",
                "owner",
                "--name",
                "صاحب کافه",
            ])
            .env("VAFA_DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .env_remove("VAFA_STAFF_PASSWORD");
            if let Some(p) = password {
                cmd.env("VAFA_STAFF_PASSWORD", p);
            }
            cmd.output().unwrap()
        };
        let none = staff(None);
        assert!(
            !none.status.success()
                && String::from_utf8_lossy(&none.stderr).contains("VAFA_STAFF_PASSWORD")
        );
        let short = staff(Some("short"));
        assert!(
            !short.status.success()
                && String::from_utf8_lossy(&short.stderr).contains("8 characters")
        );
        let made = staff(Some("a long password"));
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let cred = store.staff_credentials("owner").await.unwrap().unwrap();
        assert_eq!(
            (cred.program_id.as_str(), cred.staff.role),
            (program_id, vafa_core::auth::Role::Admin)
        );
    }
}

#[test]
fn a_mistyped_database_is_never_created() {
    let path = std::env::temp_dir().join(format!("vafa-cli-typo-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    for args in [
        &["serve", "--no-create"][..],
        &["migrate", "--no-create"],
        &["apikey", "list", "--program", "p"],
    ] {
        let out = vafa(&url, args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("does not exist"),
            "{args:?}"
        );
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }
    let out = vafa("mysql://localhost/vafa", &["migrate"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL scheme"));
}

#[test]
fn serve_answers_health_and_stops_gracefully() {
    let path = std::env::temp_dir().join(format!("vafa-cli-serve-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    let migrated = vafa(&url, &["migrate"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let mut server = Server::start(&url, &["--no-create"]);
    let addr = server.addr.clone();

    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: vafa\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("x-request-id: req_"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");

    let status = server.signal("-TERM");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn ledger_verify_passes_and_catches_tampering() {
    for db in backends().await {
        let url = db.url.as_str();
        let p = json(&vafa(
            url,
            &["program", "create", "--name", "Verify", "--json"],
        ));
        let store = db.open().await;
        let ctx = vafa_store::Ctx {
            program_id: p["program_id"].as_str().unwrap().into(),
            actor: vafa_store::Actor::Cli,
            now: jiff::Timestamp::now(),
        };
        let profile = vafa_core::customer::ProfilePatch {
            first_name: vafa_core::patch::Patch::Value("Ali".into()),
            ..Default::default()
        };
        let c = store.create_customer(&ctx, profile).await.unwrap();
        let purchase = vafa_store::NewPurchase {
            coupons: Vec::new(),
            checkout: None,
            customer: vafa_store::CustomerRef::Id(c.id.clone()),
            store: None,
            channel: None,
            external_id: None,
            lines: vec![],
            total_minor: 250_000,
            occurred_at: ctx.now,
        };
        store.post_purchase(&ctx, &purchase, None).await.unwrap();
        store
            .redeem(&ctx, &c.id, vafa_store::Spend::Points(5), None)
            .await
            .unwrap();

        let ok = vafa(url, &["ledger", "verify"]);
        let out = String::from_utf8_lossy(&ok.stdout);
        assert!(
            ok.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(
            out.contains("ok: every entry and program sums to zero"),
            "{out}"
        );

        let unknown = vafa(url, &["ledger", "verify", "--program", "prg_nobody"]);
        assert!(!unknown.status.success(), "an unknown program is not 'ok'");
        assert!(
            String::from_utf8_lossy(&unknown.stderr).contains("program not found"),
            "{}",
            String::from_utf8_lossy(&unknown.stderr)
        );
        for program in ["prg_nobody", ""] {
            let expire = vafa(url, &["ledger", "expire", "--program", program]);
            assert!(!expire.status.success(), "expire --program {program:?}");
            assert!(
                String::from_utf8_lossy(&expire.stderr).contains("no program"),
                "{}",
                String::from_utf8_lossy(&expire.stderr)
            );
        }

        // A second card with its own lot, so a lot can be moved between accounts.
        let other = store
            .create_customer(&ctx, Default::default())
            .await
            .unwrap();
        let purchase = vafa_store::NewPurchase {
            customer: vafa_store::CustomerRef::Id(other.id.clone()),
            ..purchase
        };
        store.post_purchase(&ctx, &purchase, None).await.unwrap();
        let lots_of = |id: &str| {
            format!(
                "SELECT id FROM accounts WHERE kind = 'customer_points' AND customer_id = '{id}'"
            )
        };
        let move_lot = format!(
            "UPDATE lots SET account_id = ({}) WHERE account_id = ({})",
            lots_of(&other.id),
            lots_of(&c.id)
        );
        let move_back = format!(
            "UPDATE lots SET account_id = ({}) WHERE purchase_id IN (SELECT id FROM purchases WHERE customer_id = '{}')",
            lots_of(&c.id),
            c.id
        );
        // Someone edits the ledger behind its back: each edit is caught, named, and undone
        // before the next. The last one (an entry deleted under its postings, with the
        // database's own foreign-key checks off) is not undone.
        let first_lot = "(SELECT MIN(id) FROM lots)";
        let lot_to_wallet = format!(
            "UPDATE lots SET account_id = (SELECT id FROM accounts WHERE kind <> 'customer_points' LIMIT 1) WHERE id = {first_lot}"
        );
        let lot_back = format!(
            "UPDATE lots SET account_id = (SELECT account_id FROM postings WHERE lot_id = {first_lot} LIMIT 1) WHERE id = {first_lot}"
        );
        let cases: [(&str, &str, &str); 7] = [
            (
                "UPDATE postings SET unit = 'stars' WHERE id = (SELECT MIN(id) FROM postings WHERE unit = 'points')",
                "UPDATE postings SET unit = 'points' WHERE unit = 'stars'",
                "MISMATCH posting differs from its account",
            ),
            (
                &lot_to_wallet,
                &lot_back,
                "MISMATCH lot is not on a customer's points account",
            ),
            (
                "UPDATE accounts SET debt = debt + 3 WHERE kind = 'customer_points'",
                "UPDATE accounts SET debt = debt - 3 WHERE kind = 'customer_points'",
                "MISMATCH points balance differs from its lots less its debt",
            ),
            (
                "UPDATE lots SET remaining = remaining + 7",
                "UPDATE lots SET remaining = remaining - 7",
                "MISMATCH lot remainder differs from its postings",
            ),
            (
                "UPDATE journal_entries SET kind = 'gift' WHERE kind = 'redemption'",
                "UPDATE journal_entries SET kind = 'redemption' WHERE kind = 'gift'",
                "MISMATCH entry of a kind the ledger does not write",
            ),
            (
                &move_lot,
                &move_back,
                "MISMATCH posting is not on its lot's account",
            ),
            (
                "DELETE FROM journal_entries WHERE kind = 'redemption'",
                "",
                "MISMATCH posting without its entry",
            ),
        ];
        for (tamper, undo, expect) in cases {
            run_sql(&db, &[tamper]).await;
            let bad = vafa(url, &["ledger", "verify"]);
            let out = String::from_utf8_lossy(&bad.stdout);
            assert!(!bad.status.success(), "{tamper}: {out}");
            assert!(out.contains(expect), "{tamper}: {out}");
            if !undo.is_empty() {
                run_sql(&db, &[undo]).await;
                let ok = vafa(url, &["ledger", "verify"]);
                assert!(
                    ok.status.success(),
                    "after {undo}: {}",
                    String::from_utf8_lossy(&ok.stdout)
                );
            }
        }
    }
}

/// Statements run on one connection with the database's foreign-key checks off, as
/// someone editing the file or the tables by hand might.
async fn run_sql(db: &vafa_store::testing::TestDb, statements: &[&str]) {
    macro_rules! run {
        ($conn:ty, $checks_off:literal) => {{
            use sqlx::Connection;
            let mut conn = <$conn>::connect(&db.url).await.unwrap();
            sqlx::query($checks_off).execute(&mut conn).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&mut conn).await.unwrap();
            }
        }};
    }
    match db.backend {
        vafa_store::Backend::Sqlite => run!(sqlx::SqliteConnection, "PRAGMA foreign_keys = OFF"),
        vafa_store::Backend::Postgres => {
            run!(sqlx::PgConnection, "SET session_replication_role = replica")
        }
    }
}

#[tokio::test]
async fn report_pareto_prints_the_figures() {
    for db in backends().await {
        let url = db.url.as_str();
        let p = json(&vafa(
            url,
            &["program", "create", "--name", "Report", "--json"],
        ));
        let program_id = p["program_id"].as_str().unwrap().to_owned();
        let store = db.open().await;
        let ctx = vafa_store::Ctx {
            program_id: program_id.clone(),
            actor: vafa_store::Actor::Cli,
            now: jiff::Timestamp::now(),
        };
        // Four customers: 700, 200, 60 and 40 rials on 2026-10-10 (Tehran).
        for (i, total) in [700, 200, 60, 40].into_iter().enumerate() {
            let profile = vafa_core::customer::ProfilePatch {
                first_name: vafa_core::patch::Patch::Value(format!("C{i}")),
                ..Default::default()
            };
            let c = store.create_customer(&ctx, profile).await.unwrap();
            let purchase = vafa_store::NewPurchase {
                coupons: Vec::new(),
                checkout: None,
                customer: vafa_store::CustomerRef::Id(c.id.clone()),
                store: None,
                channel: None,
                external_id: None,
                lines: vec![],
                total_minor: total,
                occurred_at: "2026-10-10T08:00:00Z".parse().unwrap(),
            };
            store.post_purchase(&ctx, &purchase, None).await.unwrap();
        }
        let out = vafa(
            url,
            &[
                "report",
                "pareto",
                "--program",
                &program_id,
                "--from",
                "2026-10-01",
                "--to",
                "2026-10-31",
            ],
        );
        let r = json(&out);
        assert_eq!(r["customers"], 4, "{r}");
        assert_eq!(r["revenue"]["amount"], "1000");
        assert_eq!(
            r["top_20_revenue_percent"], 70.0,
            "the top 20% of 4 is 1 customer"
        );
        assert_eq!(r["customers_for_80_percent"], 50.0);
        // The same month in Jalali days, in Persian digits, as the endpoints take them.
        let jalali = json(&vafa(
            url,
            &[
                "report",
                "pareto",
                "--program",
                &program_id,
                "--from",
                "1405/07/09",
                "--to",
                "۱۴۰۵/۰۸/۰۹",
            ],
        ));
        assert_eq!(jalali, r, "9 Mehr to 9 Aban 1405 is October 2026");
        let too_little = vafa(url, &["report", "clv", "--program", &program_id]);
        assert!(!too_little.status.success());
        assert!(String::from_utf8_lossy(&too_little.stderr).contains("cannot fit"));
    }
}

#[tokio::test]
async fn coupon_batches_from_the_command_line() {
    for db in backends().await {
        let url = db.url.as_str();
        let p = json(&vafa(
            url,
            &["program", "create", "--name", "Coupons", "--json"],
        ));
        let program_id = p["program_id"].as_str().unwrap();
        let out = std::env::temp_dir().join(format!("vafa-codes-{}.csv", uuid_like()));
        let b = json(&vafa(
            url,
            &[
                "coupons",
                "generate",
                "--program",
                program_id,
                "--name",
                "Launch",
                "--pattern",
                "CAFE-######",
                "--count",
                "2500",
                "--rules",
                r#"{"discount": {"type": "percent", "percent": "10"}}"#,
                "--codes-out",
                out.to_str().unwrap(),
            ],
        ));
        assert_eq!(
            (b["generated"].as_i64(), b["status"].as_str()),
            (Some(2500), Some("ready"))
        );
        let codes = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        let lines: std::collections::HashSet<&str> = codes.lines().skip(1).collect();
        assert_eq!(lines.len(), 2500);
        // Bad input names what is wrong and creates nothing.
        let bad = vafa(
            url,
            &[
                "coupons",
                "generate",
                "--program",
                program_id,
                "--name",
                "Bad",
                "--pattern",
                "CAFE-##",
                "--count",
                "5",
                "--rules",
                r#"{"discount": {"type": "percent", "percent": "10"}}"#,
            ],
        );
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("pattern"),
            "{}",
            String::from_utf8_lossy(&bad.stderr)
        );
        let store = db.open().await;
        assert_eq!(
            store.list_coupon_batches(program_id).await.unwrap().len(),
            1
        );
    }
}

fn uuid_like() -> String {
    format!("{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "")
}
