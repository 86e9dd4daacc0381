//! `vafa-bench purchases`: POST /api/v1/purchases over loopback at a given concurrency,
//! against the real server and store, with durable commits; and, in the same run, the
//! raw baseline: durable single-row inserts on the same database settings. The ratio
//! of the two is the figure that travels between machines.

use anyhow::{bail, Context, Result};
use clap::Parser;
use sqlx::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vafa_store::testing::TestDb;
use vafa_store::{Actor, Ctx, Store, SystemCtx};

#[derive(Parser)]
#[command(about = "Vafa benchmarks")]
struct Args {
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Server for --backend postgres (a fresh database is created and dropped).
    #[arg(
        long,
        env = "VAFA_TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// `http` (the real server over loopback) or `store` (the store's operation alone,
    /// to tell the cost of the storage from the cost of HTTP, auth and JSON).
    #[arg(long, default_value = "http")]
    mode: String,
    /// Distinct customers the purchases are spread over.
    #[arg(long, default_value_t = 1000)]
    customers: usize,
    /// `--mode rules`: active rules to evaluate against each purchase.
    #[arg(long, default_value_t = 100)]
    rules: usize,
}

/// `--mode rules`: evaluate N active rules (in campaigns of 5, with CEL conditions over
/// items, customer and time, and every kind of effect) against one 5-line purchase.
/// Baseline in the same run: the same purchase against the base rule alone.
fn rules_bench(args: &Args) -> Result<()> {
    use serde_json::json;
    use vafa_core::rules::{
        evaluate, Campaign, CustomerFacts, EvalInput, ItemFacts, PurchaseFacts,
    };
    let conditions = [
        "purchase.items.exists(i, i.category == 'coffee' && i.quantity >= 2)",
        "purchase.total >= 500000",
        "'vip' in customer.tags && customer.age >= 18",
        "time.weekday in [1, 2, 3] && time.hour >= 8 && time.hour < 22",
        "customer.purchase_count > 3 && customer.days_since_last_purchase < 30",
    ];
    let effects = [
        json!([{"type": "points_per_amount", "points": 1, "per_minor": 5000, "categories": ["coffee"]}]),
        json!([{"type": "multiplier", "factor": "1.5"}]),
        json!([{"type": "fixed_bonus", "points": 10}]),
        json!([{"type": "item_bonus", "points_per_unit": 2, "skus": ["CAKE", "COOKIE"]}]),
        json!([{"type": "cashback_percent", "percent": "0.5"}]),
    ];
    let mut campaigns = Vec::new();
    for c in 0..args.rules.div_ceil(5) {
        let rules: Vec<_> = (0..5.min(args.rules - c * 5))
            .map(|r| {
                let def = json!({"name": format!("rule {c}.{r}"), "condition": conditions[(c + r) % 5], "effects": effects[r % 5]});
                Ok((format!("r{c}_{r}"), 1, serde_json::from_value(def)?))
            })
            .collect::<Result<_>>()?;
        let def = serde_json::from_value(
            json!({"name": format!("campaign {c}"), "priority": c, "caps": [{"period": "day", "count": 3}]}),
        )?;
        campaigns.push(
            Campaign::compile(format!("c{c}"), 1, def, rules)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    let settings = vafa_core::ledger::LedgerSettings::default();
    campaigns.push(vafa_core::rules::default_campaign(&settings));
    let baseline = vec![vafa_core::rules::default_campaign(&settings)];
    let item = |sku: &str, cat: &str, q: i64, p: i64| ItemFacts {
        sku: sku.into(),
        name: None,
        category: Some(cat.into()),
        quantity: q,
        unit_price_minor: p,
        amount_minor: q * p,
    };
    let purchase = PurchaseFacts {
        total_minor: 640_000,
        items: vec![
            item("LATTE", "coffee", 2, 90_000),
            item("ESPRESSO", "coffee", 1, 60_000),
            item("CAKE", "pastry", 2, 100_000),
            item("COOKIE", "pastry", 3, 30_000),
            item("BEANS", "retail", 1, 110_000),
        ],
        store: Some("vanak".into()),
        channel: Some("pos".into()),
        ..PurchaseFacts::default()
    };
    let at: jiff::Timestamp = "2026-11-23T08:00:00Z".parse()?;
    let mut customer = CustomerFacts::new("cus_bench", at);
    customer.tags = vec!["vip".into()];
    customer.birth_date = Some(jiff::civil::date(1990, 5, 1));
    customer.purchase_count = 7;
    customer.last_purchase_at = Some("2026-11-10T08:00:00Z".parse()?);
    let tz = jiff::tz::TimeZone::get("Asia/Tehran")?;
    let usage = std::collections::HashMap::new();
    let input = EvalInput {
        purchase: Some(&purchase),
        event: None,
        customer: &customer,
        at,
        tz: &tz,
        calendar: vafa_core::ledger::CalendarKind::Jalali,
    };
    let measure = |set: &[Campaign]| -> (f64, f64, f64, i64, usize) {
        let mut lat = Vec::new();
        let started = Instant::now();
        let mut points = 0;
        let mut fired = 0;
        while started.elapsed() < Duration::from_secs(args.seconds) {
            let t = Instant::now();
            let e = evaluate(set, &input, &usage);
            lat.push(t.elapsed().as_nanos() as u64);
            points = e.points;
            fired = e.fired.len();
        }
        lat.sort_unstable();
        let mean = lat.iter().sum::<u64>() as f64 / lat.len().max(1) as f64 / 1000.0;
        (
            mean,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            points,
            fired,
        )
    };
    eprintln!("baseline: the base rule alone, {} s …", args.seconds);
    let (b_mean, b_p50, b_p99, _, _) = measure(&baseline);
    eprintln!("{} rules, {} s …", args.rules, args.seconds);
    let (mean, p50, p99, points, fired) = measure(&campaigns);
    let result = json!({
        "mode": "rules",
        "rules": args.rules,
        "rules_fired": fired,
        "points": points,
        "us_per_purchase_mean": (mean * 10.0).round() / 10.0,
        "us_per_purchase_p50": (p50 * 10.0).round() / 10.0,
        "us_per_purchase_p99": (p99 * 10.0).round() / 10.0,
        "baseline_one_rule_us_mean": (b_mean * 10.0).round() / 10.0,
        "baseline_one_rule_us_p50": (b_p50 * 10.0).round() / 10.0,
        "baseline_one_rule_us_p99": (b_p99 * 10.0).round() / 10.0,
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

async fn fresh_db(args: &Args) -> Result<TestDb> {
    Ok(match args.backend.as_str() {
        "sqlite" => TestDb::sqlite().await,
        "postgres" => TestDb::postgres(&args.postgres_url).await?,
        other => bail!("unknown backend {other}"),
    })
}

/// Single-row inserts, each its own durable transaction, on the store's settings.
async fn raw_baseline(args: &Args) -> Result<f64> {
    let db = fresh_db(args).await?;
    let _ = db.open().await; // same file/database, same pragmas, migrated
    let deadline = Duration::from_secs(args.seconds);
    let sql_create = "CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, v TEXT NOT NULL)";
    let sql_insert = "INSERT INTO bench_raw (id, v) VALUES ($1, $2)";
    let mut n: i64 = 0;
    let started = Instant::now();
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            sqlx::query(sql_create).execute(&mut conn).await?;
            let started_inner = Instant::now();
            while started_inner.elapsed() < deadline {
                sqlx::query(sql_insert)
                    .bind(n)
                    .bind("x")
                    .execute(&mut conn)
                    .await?;
                n += 1;
            }
            started_inner.elapsed()
        }};
    }
    let elapsed = match args.backend.as_str() {
        "sqlite" => {
            let path = db.url.trim_start_matches("sqlite://");
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
            run!(sqlx::SqliteConnection::connect_with(&opts).await?)
        }
        _ => run!(sqlx::PgConnection::connect(&db.url).await?),
    };
    let _ = started;
    Ok(n as f64 / elapsed.as_secs_f64())
}

struct Run {
    ok: usize,
    errors: usize,
    latencies_us: Vec<u64>,
    elapsed: Duration,
}

async fn purchases(args: &Args) -> Result<(Run, TestDb, Arc<dyn Store>)> {
    let db = fresh_db(args).await?;
    let store = db.open().await;
    let np = vafa_core::program::NewProgram::parse("Bench", "IRR", "Asia/Tehran", "fa")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sys = SystemCtx {
        actor: Actor::Cli,
        now: jiff::Timestamp::now(),
    };
    let (program, key) = store.create_program(&np, &sys).await?;
    let ctx = Ctx {
        program_id: program.id.clone(),
        actor: Actor::Cli,
        now: jiff::Timestamp::now(),
    };
    let mut customers = Vec::with_capacity(args.customers);
    for i in 0..args.customers {
        let p = vafa_core::customer::ProfilePatch {
            first_name: vafa_core::patch::Patch::Value(format!("Bench {i}")),
            ..Default::default()
        };
        customers.push(store.create_customer(&ctx, p).await?.id);
    }
    let app = vafa_server::app(store.clone(), Arc::new(vafa_server::clock::SystemClock))
        .map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1/purchases", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = vafa_server::serve(listener, app, std::future::pending()).await;
    });
    let customers = Arc::new(customers);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..args.concurrency {
        let (client, base, key, customers) = (
            client.clone(),
            base.clone(),
            key.api_key.clone(),
            customers.clone(),
        );
        let direct = (args.mode == "store").then(|| (store.clone(), ctx.clone()));
        workers.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut lat) = (0usize, 0usize, Vec::new());
            let mut i = 0usize;
            while Instant::now() < deadline {
                let customer = &customers[(w * 7919 + i * 31) % customers.len()];
                let body = serde_json::json!({
                    "customer_id": customer, "external_id": format!("w{w}-{i}"), "channel": "pos",
                    "items": [{"sku": "LATTE", "quantity": 2, "unit_price": {"amount": "55000", "currency": "IRR"}}],
                    "total": {"amount": "110000", "currency": "IRR"}
                });
                let t = Instant::now();
                let done = match &direct {
                    Some((store, ctx)) => {
                        let p = vafa_store::NewPurchase {
                            coupons: Vec::new(),
                            customer: vafa_store::CustomerRef::Id(customer.clone()),
                            store: None,
                            channel: Some("pos".into()),
                            external_id: Some(format!("w{w}-{i}")),
                            lines: vec![vafa_store::PurchaseLine { sku: Some("LATTE".into()), name: None, category: None, quantity: 2, unit_price_minor: 55_000 }],
                            total_minor: 110_000,
                            occurred_at: jiff::Timestamp::now(),
                        };
                        let ctx = Ctx { now: jiff::Timestamp::now(), ..ctx.clone() };
                        store.post_purchase(&ctx, &p, None).await.is_ok()
                    }
                    None => {
                        let res = client.post(&base).bearer_auth(&key).header("idempotency-key", format!("w{w}-{i}")).json(&body).send().await;
                        match res {
                            Ok(r) if r.status().as_u16() == 201 => r.bytes().await.is_ok(),
                            _ => false,
                        }
                    }
                };
                if done {
                    ok += 1;
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
                i += 1;
            }
            (ok, errors, lat)
        }));
    }
    let mut run = Run {
        ok: 0,
        errors: 0,
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for w in workers {
        let (ok, errors, lat) = w.await?;
        run.ok += ok;
        run.errors += errors;
        run.latencies_us.extend(lat);
    }
    run.elapsed = started.elapsed();
    Ok((run, db, store))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.mode == "rules" {
        return rules_bench(&args);
    }
    eprintln!(
        "raw baseline: {} s of durable single-row inserts on {} …",
        args.seconds, args.backend
    );
    let raw = raw_baseline(&args).await.context("raw baseline")?;
    eprintln!(
        "purchases: {} s at concurrency {} over loopback …",
        args.seconds, args.concurrency
    );
    let (mut run, _db, store) = purchases(&args).await.context("purchases")?;
    let batches = store.group_commit_stats();
    run.latencies_us.sort_unstable();
    let rate = run.ok as f64 / run.elapsed.as_secs_f64();
    let report = store.verify_ledger(None).await?;
    if !report.problems.is_empty() {
        bail!(
            "the ledger does not verify after the run: {:?}",
            report.problems
        );
    }
    let result = serde_json::json!({
        "backend": args.backend,
        "mode": args.mode,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "purchases_ok": run.ok,
        "purchases_failed": run.errors,
        "purchases_per_s": (rate * 10.0).round() / 10.0,
        "p50_ms": percentile(&run.latencies_us, 0.50),
        "p99_ms": percentile(&run.latencies_us, 0.99),
        "raw_inserts_per_s": (raw * 10.0).round() / 10.0,
        "ratio_to_raw": (rate / raw * 100.0).round() / 100.0,
        "ledger_entries": report.entries,
        "group_commits": batches.map(|(c, _)| c),
        "writes_per_commit": batches.map(|(c, o)| if c == 0 { 0.0 } else { (o as f64 / c as f64 * 10.0).round() / 10.0 }),
        "ledger_verified": true,
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
