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

mod slow_sync;
mod stmt_profile;

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
    /// `--mode analytics`: purchases to generate (spread over --customers).
    #[arg(long, default_value_t = 10_000_000)]
    purchases: usize,
    /// `--mode analytics` on SQLite: keep the generated database in this file, and when
    /// it already holds one, time the reports on it without loading again.
    #[arg(long)]
    keep_sqlite: Option<std::path::PathBuf>,
    /// `--mode coupons`: unique codes to generate in one batch.
    #[arg(long, default_value_t = 100_000)]
    codes: u32,
    /// `--mode rules`: active rules to evaluate against each purchase.
    #[arg(long, default_value_t = 100)]
    rules: usize,
    /// SQLite only: add this many µs to every sync of every database file in the run
    /// (raw baselines and purchases alike), to model a disk whose fsync is slower than
    /// this machine's. 0 (the default) leaves the disk as it is.
    #[arg(long, default_value_t = 0)]
    sync_latency_us: u64,
    /// SQLite only: time every statement the purchases run (all connections), and report
    /// the costliest in µs per purchase.
    #[arg(long)]
    statement_profile: bool,
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

/// The same durable single-row inserts through a plain synchronous SQLite connection
/// (rusqlite, the library purchases are written with): no hand-off between threads, so
/// this is what the disk's commits alone allow.
fn raw_baseline_direct(args: &Args) -> Result<f64> {
    let dir = std::env::temp_dir().join(format!("vafa-bench-raw-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("raw.db");
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, v TEXT NOT NULL)",
    )?;
    let mut stmt = conn.prepare("INSERT INTO bench_raw (id, v) VALUES (?1, ?2)")?;
    let deadline = Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut n: i64 = 0;
    while started.elapsed() < deadline {
        stmt.execute(rusqlite::params![n, "x"])?;
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(stmt);
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rate)
}

struct Run {
    /// The writer's counters when the timed run began (setup, such as creating the
    /// customers, commits through the same writer and is not part of the figures).
    commits_before: Option<(u64, u64)>,
    timing_before: Option<(u64, u64)>,
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
    let (commits_before, timing_before) = (store.group_commit_stats(), store.writer_timing());
    if args.statement_profile {
        stmt_profile::start();
    }
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
                            checkout: None,
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
        commits_before,
        timing_before,
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
    if args.mode == "analytics" {
        return analytics_bench(&args).await;
    }
    if args.mode == "coupons" {
        return coupons_bench(&args).await;
    }
    if args.sync_latency_us > 0 {
        if args.backend != "sqlite" {
            bail!("--sync-latency-us models a slower disk under SQLite only");
        }
        slow_sync::install(Duration::from_micros(args.sync_latency_us))?;
    }
    if args.statement_profile {
        if args.backend != "sqlite" {
            bail!("--statement-profile times SQLite's statements only");
        }
        stmt_profile::install()?;
    }
    eprintln!(
        "raw baseline: {} s of durable single-row inserts on {} …",
        args.seconds, args.backend
    );
    let raw = raw_baseline(&args).await.context("raw baseline")?;
    let raw_direct = match args.backend.as_str() {
        "sqlite" => {
            eprintln!(
                "raw baseline without sqlx: {} s of the same inserts through rusqlite …",
                args.seconds
            );
            Some(raw_baseline_direct(&args).context("raw baseline (rusqlite)")?)
        }
        _ => None,
    };
    eprintln!(
        "purchases: {} s at concurrency {} over loopback …",
        args.seconds, args.concurrency
    );
    let (mut run, _db, store) = purchases(&args).await.context("purchases")?;
    let statements = args
        .statement_profile
        .then(|| statement_report(stmt_profile::stop(), run.ok));
    let since = |now: Option<(u64, u64)>, then: Option<(u64, u64)>| {
        now.map(|(a, b)| {
            let (a0, b0) = then.unwrap_or_default();
            (a.saturating_sub(a0), b.saturating_sub(b0))
        })
    };
    let batches = since(store.group_commit_stats(), run.commits_before);
    let timing = since(store.writer_timing(), run.timing_before);
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
        "raw_inserts_per_s_rusqlite": raw_direct.map(|r| (r * 10.0).round() / 10.0),
        "ratio_to_raw_rusqlite": raw_direct.map(|r| (rate / r * 100.0).round() / 100.0),
        "ledger_entries": report.entries,
        "group_commits": batches.map(|(c, _)| c),
        "writes_per_commit": batches.map(|(c, o)| if c == 0 { 0.0 } else { (o as f64 / c as f64 * 10.0).round() / 10.0 }),
        "ledger_verified": true,
        "sync_latency_us_added": args.sync_latency_us,
        "statements": statements,
        // SQLite's purchase writer: its µs per purchase running the operation, and
        // committing (writing the batch's pages to the WAL and syncing).
        "writer_run_us_per_purchase": timing.map(|(r, _)| (r as f64 / run.ok.max(1) as f64).round()),
        "writer_commit_us_per_purchase": timing.map(|(_, c)| (c as f64 / run.ok.max(1) as f64).round()),
        "writer_busy_share": timing.map(|(r, c)| ((r + c) as f64 / run.elapsed.as_micros() as f64 * 100.0).round() / 100.0),
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// The profiled statements as µs per purchase, the costliest first, with their sum.
fn statement_report(rows: Vec<(String, u64, Duration)>, purchases: usize) -> serde_json::Value {
    let per = purchases.max(1) as f64;
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let total: f64 = rows.iter().map(|r| r.2.as_secs_f64() * 1e6).sum();
    let top: Vec<_> = rows
        .iter()
        .take(30)
        .map(|(sql, runs, took)| {
            let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let sql: String = sql.chars().take(140).collect();
            serde_json::json!({
                "us_per_purchase": round(took.as_secs_f64() * 1e6 / per),
                "runs_per_purchase": (*runs as f64 / per * 1000.0).round() / 1000.0,
                "us_per_run": round(took.as_secs_f64() * 1e6 / (*runs).max(1) as f64),
                "sql": sql,
            })
        })
        .collect();
    serde_json::json!({"all_us_per_purchase": round(total / per), "distinct": rows.len(), "costliest": top})
}

/// Peak resident memory since the last reset, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `--mode coupons`: a batch of --codes unique codes through the store (chunks of 1,000,
/// each its own durable transaction, duplicates drawn again), and in the same run the
/// raw baseline: the same number of rows of the same shape, inserted in the same chunks
/// and transactions, into a plain table with the same primary key.
async fn coupons_bench(args: &Args) -> Result<()> {
    let db = fresh_db(args).await?;
    let store = db.open().await;
    let now = jiff::Timestamp::now();
    let np = vafa_core::program::NewProgram::parse("Bench", "IRR", "Asia/Tehran", "fa")
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (program, _) = store
        .create_program(
            &np,
            &SystemCtx {
                actor: Actor::Cli,
                now,
            },
        )
        .await?;
    let ctx = Ctx {
        program_id: program.id.clone(),
        actor: Actor::Cli,
        now,
    };
    let rules: vafa_core::coupons::CouponRules = serde_json::from_value(
        serde_json::json!({"discount": {"type": "percent", "percent": "10"}}),
    )?;
    let batch = vafa_store::NewCouponBatch {
        name: "Bench".into(),
        source: vafa_store::CouponSource::Pattern {
            pattern: "CAFE-####-####".into(),
            count: args.codes,
        },
        rules,
    };
    let started = Instant::now();
    let b = store.create_coupon_batch(&ctx, &batch, &|_| {}).await?;
    let store_s = started.elapsed().as_secs_f64();
    let mut seen = std::collections::HashSet::new();
    let mut after = String::new();
    loop {
        let page = store
            .coupon_codes(&program.id, &b.id, &after, 10_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        seen.extend(page.into_iter().map(|c| c.0));
    }
    anyhow::ensure!(seen.len() as i64 == b.generated, "duplicate codes");
    // The baseline inserts codes drawn the same way (random keys land all over the
    // index, as the batch's do), generated before the clock starts.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let mut raw_codes = std::collections::BTreeSet::new();
    while raw_codes.len() < args.codes as usize {
        raw_codes.insert(vafa_core::coupons::generate("CAFE-####-####", &mut rng));
    }
    let mut raw_codes: Vec<String> = raw_codes.into_iter().collect();
    rand::seq::SliceRandom::shuffle(raw_codes.as_mut_slice(), &mut rng);
    macro_rules! raw {
        ($conn:expr, $db:ty) => {{
            let mut conn = $conn;
            sqlx::query("CREATE TABLE bench_codes (program_id TEXT NOT NULL, code TEXT NOT NULL, batch_id TEXT NOT NULL, \
                         uses BIGINT NOT NULL, max_uses BIGINT, PRIMARY KEY (program_id, code))")
                .execute(&mut conn)
                .await?;
            let started = Instant::now();
            let mut n = 0u32;
            while n < args.codes {
                let k = (args.codes - n).min(1000);
                let mut tx = sqlx::Connection::begin(&mut conn).await?;
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO bench_codes (program_id, code, batch_id, uses, max_uses) ");
                q.push_values(n..n + k, |mut r, i| {
                    r.push_bind(program.id.clone()).push_bind(raw_codes[i as usize].clone()).push_bind(b.id.clone()).push("0").push("1");
                });
                q.build().execute(&mut *tx).await?;
                tx.commit().await?;
                n += k;
            }
            started.elapsed().as_secs_f64()
        }};
    }
    let raw_s = match args.backend.as_str() {
        "sqlite" => {
            let path = db.url.trim_start_matches("sqlite://");
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
            raw!(
                sqlx::SqliteConnection::connect_with(&opts).await?,
                sqlx::Sqlite
            )
        }
        _ => raw!(sqlx::PgConnection::connect(&db.url).await?, sqlx::Postgres),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "mode": "coupons", "backend": args.backend, "codes": b.generated, "distinct": seen.len(),
            "seconds": (store_s * 100.0).round() / 100.0, "codes_per_second": (b.generated as f64 / store_s).round(),
            "raw_seconds": (raw_s * 100.0).round() / 100.0, "ratio_to_raw": ((raw_s / store_s) * 100.0).round() / 100.0,
        }))?
    );
    Ok(())
}

/// `--mode analytics`: --customers customers and --purchases purchases written straight
/// into the tables (analytics reads purchases and customers only), then RFM, Pareto and
/// KPIs timed one after the other, each with its peak memory.
async fn analytics_bench(args: &Args) -> Result<()> {
    use rand::{Rng, SeedableRng};
    let now: jiff::Timestamp = "2026-11-23T08:00:00Z".parse()?;
    if let (Some(path), "sqlite") = (&args.keep_sqlite, args.backend.as_str()) {
        if path.exists() {
            let url = format!("sqlite://{}", path.display());
            let store = vafa_store::open(&url, &vafa_store::OpenOptions::default()).await?;
            let mut conn = sqlx::SqliteConnection::connect(&url).await?;
            let (pid,): (String,) = sqlx::query_as("SELECT id FROM programs WHERE name = 'Bench'")
                .fetch_one(&mut conn)
                .await?;
            return analytics_reports(args, store.as_ref(), &pid, now, None).await;
        }
    }
    let db = match (&args.keep_sqlite, args.backend.as_str()) {
        (Some(path), "sqlite") => TestDb::sqlite_at(path),
        _ => fresh_db(args).await?,
    };
    let store = db.open().await;
    let np = vafa_core::program::NewProgram::parse("Bench", "IRR", "Asia/Tehran", "fa")
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (program, _) = store
        .create_program(
            &np,
            &SystemCtx {
                actor: Actor::Cli,
                now,
            },
        )
        .await?;
    let pid = program.id.clone();
    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    // Heavy-tailed purchase counts: most customers buy a few times, some very often.
    let mean = args.purchases as f64 / args.customers as f64;
    let mut counts: Vec<usize> = (0..args.customers)
        .map(|_| {
            let u: f64 = rng.gen_range(1e-9..1.0);
            1 + (-(mean - 0.5) * u.ln()) as usize
        })
        .collect();
    let total: usize = counts.iter().sum();
    if total > args.purchases {
        let mut over = total - args.purchases;
        for c in counts.iter_mut() {
            if over == 0 {
                break;
            }
            let cut = (*c - 1).min(over);
            *c -= cut;
            over -= cut;
        }
    }
    let two_years = 2 * 365 * 86_400_000_000i64;
    let now_us = now.as_microsecond();
    macro_rules! load {
        ($conn:expr, $db:ty) => {{
            let mut conn = $conn;
            let mut tx = sqlx::Connection::begin(&mut conn).await?;
            for chunk in (0..args.customers).collect::<Vec<_>>().chunks(1000) {
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO customers (id, program_id, status, created_at, updated_at) ");
                q.push_values(chunk, |mut b, i| {
                    b.push_bind(format!("cus_{i:08}")).push_bind(pid.clone()).push("'active'").push_bind(now_us - two_years).push_bind(now_us - two_years);
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            let mut rows: Vec<(usize, i64, i64)> = Vec::with_capacity(10_000);
            let mut n = 0usize;
            let mut tx = sqlx::Connection::begin(&mut conn).await?;
            for (i, c) in counts.iter().enumerate() {
                for _ in 0..*c {
                    rows.push((i, now_us - rng.gen_range(0..two_years), rng.gen_range(50_000..2_000_000)));
                    if rows.len() == 500 {
                        let mut q = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO purchases (id, program_id, customer_id, currency, total_minor, returned_minor, points_earned, \
                             points_reversed, cashback_earned, cashback_reversed, entry_id, occurred_at, created_at) ",
                        );
                        q.push_values(rows.drain(..), |mut b, (cust, at, total)| {
                            n += 1;
                            b.push_bind(format!("pur_{n:09}")).push_bind(pid.clone()).push_bind(format!("cus_{cust:08}"))
                                .push("'IRR'").push_bind(total).push("0").push("0").push("0").push("0").push("0")
                                .push("'bench'").push_bind(at).push_bind(at);
                        });
                        q.build().execute(&mut *tx).await?;
                        if n % 200_000 == 0 {
                            tx.commit().await?;
                            tx = sqlx::Connection::begin(&mut conn).await?;
                            eprint!("\r{n} purchases …");
                        }
                    }
                }
            }
            if !rows.is_empty() {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO purchases (id, program_id, customer_id, currency, total_minor, returned_minor, points_earned, \
                     points_reversed, cashback_earned, cashback_reversed, entry_id, occurred_at, created_at) ",
                );
                q.push_values(rows.drain(..), |mut b, (cust, at, total)| {
                    n += 1;
                    b.push_bind(format!("pur_{n:09}")).push_bind(pid.clone()).push_bind(format!("cus_{cust:08}"))
                        .push("'IRR'").push_bind(total).push("0").push("0").push("0").push("0").push("0")
                        .push("'bench'").push_bind(at).push_bind(at);
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            eprintln!("\r{n} purchases loaded");
            n
        }};
    }
    let loaded = match args.backend.as_str() {
        "sqlite" => {
            let path = db.url.trim_start_matches("sqlite://");
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
            load!(
                sqlx::SqliteConnection::connect_with(&opts).await?,
                sqlx::Sqlite
            )
        }
        _ => load!(sqlx::PgConnection::connect(&db.url).await?, sqlx::Postgres),
    };
    let load_s = started.elapsed().as_secs_f64();
    if args.backend == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await?;
        sqlx::query("ANALYZE").execute(&mut conn).await?;
    }
    let out = analytics_reports(args, store.as_ref(), &pid, now, Some((loaded, load_s))).await;
    if args.keep_sqlite.is_some() {
        db.keep();
    }
    out
}

/// The reports of `--mode analytics`, timed one after the other with their peak memory.
async fn analytics_reports(
    args: &Args,
    store: &dyn Store,
    pid: &str,
    now: jiff::Timestamp,
    loaded: Option<(usize, f64)>,
) -> Result<()> {
    use vafa_server::api::analytics as a;
    let rc = a::ReportCtx {
        store,
        program_id: pid,
        now,
    };
    let to = Some(jiff::civil::date(2026, 11, 23));
    let mut figures = serde_json::Map::new();
    macro_rules! time {
        ($name:literal, $e:expr) => {{
            reset_peak_rss();
            let t = Instant::now();
            let out = $e.await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            let secs = t.elapsed().as_secs_f64();
            eprintln!("{}: {secs:.2} s", $name);
            figures.insert($name.into(), serde_json::json!({"seconds": (secs * 100.0).round() / 100.0, "peak_rss_mib": peak_rss_mib().map(|m| m.round())}));
            out
        }};
    }
    // The whole history (731 local days hold the two generated years) reads the
    // per-customer summary; a window that cuts the history groups its purchases.
    let rfm_q = |days| a::RfmQuery {
        as_of: to,
        window_days: Some(days),
        segment: None,
        limit: None,
    };
    let rfm = time!("rfm", a::rfm_report(&rc, &rfm_q(731)));
    let pareto_q = |from| a::PeriodQuery {
        from: Some(from),
        to,
    };
    let pareto = time!(
        "pareto",
        a::pareto_report(&rc, &pareto_q(jiff::civil::date(2024, 11, 23)))
    );
    let _ = time!("rfm_365_days", a::rfm_report(&rc, &rfm_q(365)));
    let _ = time!(
        "pareto_365_days",
        a::pareto_report(&rc, &pareto_q(jiff::civil::date(2025, 11, 24)))
    );
    let kpis = time!(
        "kpis",
        a::kpis_report(
            &rc,
            &a::PeriodQuery {
                from: Some(jiff::civil::date(2026, 10, 24)),
                to
            }
        )
    );
    let result = serde_json::json!({
        "mode": "analytics",
        "backend": args.backend,
        "customers": args.customers,
        "purchases": loaded.map(|l| l.0),
        "load_seconds": loaded.map(|l| (l.1 * 10.0).round() / 10.0),
        "reports": figures,
        "check": {
            "rfm_customers": rfm.customers,
            "pareto_top_20_revenue_percent": pareto.top_20_revenue_percent,
            "kpis_active_customers": kpis.active_customers,
        },
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
