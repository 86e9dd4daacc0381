//! `vafa`: run the server and administer programs and keys from the command line.

/// `println!` for what a command answers on standard output: a reader that stops early
/// (`vafa report … | head`) ends the command quietly instead of a panic and backtrace.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: cannot write the answer: {e}");
            std::process::exit(1);
        }
    }};
}

mod data;
mod demo;
mod demo_crm;
mod staff;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::sync::Arc;
use vafa_core::auth::Role;
use vafa_core::program::NewProgram;
use vafa_server::clock::SystemClock;
use vafa_store::{Actor, Ctx, OpenOptions, Store, SystemCtx};

#[derive(Parser)]
#[command(
    name = "vafa",
    version,
    about = "Vafa (وفا): customer loyalty and relationship engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Db {
    /// sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB
    #[arg(
        long,
        env = "VAFA_DATABASE_URL",
        default_value = "sqlite://vafa.db",
        global = true
    )]
    database_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve {
        #[command(flatten)]
        db: Db,
        /// Address to listen on.
        #[arg(long, env = "VAFA_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Refuse to start if the SQLite file does not exist yet.
        #[arg(long)]
        no_create: bool,
        /// Start with a fresh demo program. With the default database this serves a new
        /// `vafa-demo.db` (replaced each time), never your `vafa.db`.
        #[arg(long)]
        demo: bool,
        /// Customers in the demo.
        #[arg(long, default_value_t = 10_000, requires = "demo")]
        demo_customers: u32,
    },
    /// Make a demo program: Persian customers and months of trade (deterministic for a seed).
    Demo {
        #[command(flatten)]
        db: Db,
        #[arg(long, default_value_t = 10_000)]
        customers: u32,
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long, default_value_t = 1405)]
        seed: u64,
        /// The history ends as this local (Tehran) day begins; default today. The same
        /// seed and day give the same demo.
        #[arg(long, value_parser = calendar_day)]
        as_of: Option<jiff::civil::Date>,
        /// Print the report (with the keys) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import customers or purchases from a CSV file: bad rows go to a rejects file and
    /// never stop the run; rows already in the program are left as they are.
    Import {
        #[command(flatten)]
        db: Db,
        /// customers or purchases
        #[arg(value_parser = ["customers", "purchases"])]
        kind: String,
        file: std::path::PathBuf,
        #[arg(long)]
        program: String,
        /// A column to a field where the header is not recognised: --map "Header=field" (repeatable).
        #[arg(long = "map")]
        map: Vec<String>,
        /// Where the rejects go as CSV (line, field, reason); default FILE.rejects.csv.
        #[arg(long)]
        rejects: Option<std::path::PathBuf>,
    },
    /// Export customers, purchases or the ledger as CSV or JSON lines.
    Export {
        #[command(flatten)]
        db: Db,
        #[arg(value_parser = ["customers", "purchases", "ledger"])]
        table: String,
        #[arg(long)]
        program: String,
        #[arg(long, default_value = "csv", value_parser = ["csv", "jsonl"])]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: Db,
        /// Refuse to run if the SQLite file does not exist yet.
        #[arg(long)]
        no_create: bool,
    },
    /// Programs (tenants).
    Program {
        #[command(subcommand)]
        command: ProgramCommand,
    },
    /// API keys.
    Apikey {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Staff who sign in to the admin UI.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The points and cashback ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Coupon batches: generate unique codes (with progress) or register a shared code.
    Coupons {
        #[command(subcommand)]
        command: CouponCommand,
    },
    /// Analytics figures as JSON: the same as `/api/v1/analytics/…`.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Revenue concentration: the top 20%'s share, the curve, one-time and repeat buyers.
    Pareto {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        /// First local date (default one year before --to).
        #[arg(long, value_parser = calendar_day)]
        from: Option<jiff::civil::Date>,
        /// Last local date (default today).
        #[arg(long, value_parser = calendar_day)]
        to: Option<jiff::civil::Date>,
    },
    /// Loyalty KPIs over a period, with points figures and liability.
    Kpis {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        /// First local date (default 29 days before --to).
        #[arg(long, value_parser = calendar_day)]
        from: Option<jiff::civil::Date>,
        /// Last local date (default today).
        #[arg(long, value_parser = calendar_day)]
        to: Option<jiff::civil::Date>,
    },
    /// Monthly retention cohorts (Jalali months for a `fa` program).
    Cohorts {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        /// The last day counted (default today); its month is the last shown.
        #[arg(long, value_parser = calendar_day)]
        to: Option<jiff::civil::Date>,
        #[arg(long)]
        months: Option<u32>,
    },
    /// RFM: the eleven segments, the R × FM grid, and with --segment its members.
    Rfm {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        /// Local date recency is measured at (default today).
        #[arg(long, value_parser = calendar_day)]
        as_of: Option<jiff::civil::Date>,
        /// Window in days ending on --as-of (default 365).
        #[arg(long)]
        window_days: Option<u32>,
        /// List this segment's members, e.g. at_risk.
        #[arg(long)]
        segment: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Customer lifetime value: the fitted BG/NBD and Gamma-Gamma models, or with
    /// --customers the per-customer predictions.
    Clv {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        /// Last local date of calibration (default today).
        #[arg(long, value_parser = calendar_day)]
        calibration_end: Option<jiff::civil::Date>,
        /// day (default) or week.
        #[arg(long, value_parser = ["day", "week"])]
        time_unit: Option<String>,
        /// Print per-customer predictions instead of the model.
        #[arg(long)]
        customers: bool,
        /// With --customers: value (default) or churn_risk.
        #[arg(long, value_parser = ["value", "churn_risk"])]
        order: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        horizon_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum CouponCommand {
    /// Create a batch: `--pattern CAFE-####-#### --count 100000` unique codes, or one
    /// shared `--code YALDA1405`. Prints the batch as JSON; `--codes-out` writes the
    /// codes as CSV.
    Generate {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        pattern: Option<String>,
        #[arg(long)]
        count: Option<u32>,
        #[arg(long)]
        code: Option<String>,
        /// What the coupon gives, as JSON, e.g. '{"discount": {"type": "percent", "percent": "10"}}'
        /// (docs/coupons.md).
        #[arg(long)]
        rules: String,
        #[arg(long)]
        codes_out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every balance, debt and lot from the postings; check that every entry and
    /// every program sums to zero. Exits non-zero with a report on any mismatch.
    Verify {
        #[command(flatten)]
        db: Db,
        /// Only this program (default: all).
        #[arg(long)]
        program: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Post the expiry of points whose lots have expired (serve does this every minute).
    Expire {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProgramCommand {
    /// Open a program and print its first admin API key (shown once).
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "IRR")]
        currency: String,
        #[arg(long, default_value = "Asia/Tehran")]
        timezone: String,
        #[arg(long, default_value = "fa")]
        locale: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member; the password is read from an environment variable.
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// admin, manager, cashier, support, analyst or partner.
        #[arg(long, default_value = "admin")]
        role: String,
        /// The environment variable holding the password (at least 8 characters).
        #[arg(long, default_value = "VAFA_STAFF_PASSWORD")]
        password_env: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create a key for a program; the secret is printed once.
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        /// admin, manager, cashier, partner or analyst
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a program's keys.
    List {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key; it stops working at once.
    Revoke {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        program: String,
        /// The key id (key_…).
        #[arg(long)]
        key: String,
    },
}

async fn open(db: &Db, create: bool) -> Result<Arc<dyn Store>> {
    let options = OpenOptions {
        create,
        ..OpenOptions::default()
    };
    vafa_store::open(&db.database_url, &options)
        .await
        .with_context(|| format!("opening {}", db.database_url))
}

fn cli_ctx(program_id: &str) -> Ctx {
    Ctx {
        program_id: program_id.to_owned(),
        actor: Actor::Cli,
        now: jiff::Timestamp::now(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

const DEFAULT_DATABASE: &str = "sqlite://vafa.db";
const DEMO_DATABASE: &str = "sqlite://vafa-demo.db";

async fn serve(mut db: Db, listen: String, no_create: bool, demo: Option<u32>) -> Result<()> {
    if demo.is_some() && db.database_url == DEFAULT_DATABASE {
        // The demo never touches the real default database: it gets a file of its own.
        db.database_url = DEMO_DATABASE.to_owned();
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("vafa-demo.db{suffix}");
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {path}")),
            }
        }
    }
    let store = open(&db, !no_create).await?;
    let demo_report = match demo {
        Some(customers) => {
            let opts = vafa_store::demo::DemoOptions {
                customers,
                now: demo::anchor(None)?,
                ..Default::default()
            };
            Some(demo::run(store.as_ref(), &opts).await?)
        }
        None => None,
    };
    let clock = Arc::new(SystemClock);
    let app = vafa_server::app(store.clone(), clock.clone()).map_err(anyhow::Error::msg)?;
    let outbox = vafa_server::spawn_outbox(store.clone(), clock.clone());
    let jobs = vafa_server::spawn_jobs(store, clock);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %db.database_url, "vafa is serving");
    eprintln!(
        "Vafa is serving on http://{addr} (database {})",
        db.database_url
    );
    if let Some(made) = &demo_report {
        eprintln!("demo program {} (کافه وفا):", made.loyalty.program_id);
        demo::print_credentials(made);
        eprintln!(
            "  admin UI: open http://{addr}/ and sign in as admin, manager, cashier, sara or analyst (password {})",
            made.crm.password
        );
        eprintln!(
            "  try: curl -H 'Authorization: Bearer {}' http://{addr}/api/v1/analytics/pareto",
            made.loyalty.analyst_key.api_key
        );
        eprintln!(
            "  or sign in: curl -H 'content-type: application/json' -d '{{\"username\": \"{}\", \"password\": \"{}\"}}' http://{addr}/auth/login",
            made.crm.staff.get(1).map_or("manager", |s| s.username.as_str()),
            made.crm.password
        );
    }
    vafa_server::serve(listener, app, shutdown_signal()).await?;
    jobs.abort();
    outbox.abort();
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            no_create,
            demo,
            demo_customers,
        } => serve(db, listen, no_create, demo.then_some(demo_customers)).await,
        Command::Demo {
            db,
            customers,
            months,
            seed,
            as_of,
            json,
        } => {
            let store = open(&db, true).await?;
            let opts = vafa_store::demo::DemoOptions {
                customers,
                months,
                seed,
                now: demo::anchor(as_of)?,
            };
            let report = demo::run(store.as_ref(), &opts).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&report.to_json()?)?);
            } else {
                demo::print_credentials(&report);
            }
            Ok(())
        }
        Command::Migrate { db, no_create } => {
            let store = open(&db, !no_create).await?;
            let versions = store.applied_migrations().await?;
            outln!("migrations applied: {versions:?}");
            Ok(())
        }
        Command::Program {
            command:
                ProgramCommand::Create {
                    db,
                    name,
                    currency,
                    timezone,
                    locale,
                    json,
                },
        } => {
            let program = NewProgram::parse(&name, &currency, &timezone, &locale)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = open(&db, true).await?;
            let sys = SystemCtx {
                actor: Actor::Cli,
                now: jiff::Timestamp::now(),
            };
            let (program, key) = store.create_program(&program, &sys).await?;
            if json {
                outln!(
                    "{}",
                    serde_json::json!({ "program_id": program.id, "api_key": key.api_key, "key_id": key.key_id })
                );
            } else {
                outln!(
                    "program  {}\nadmin key {}  (shown once; store it safely)",
                    program.id,
                    key.api_key
                );
            }
            Ok(())
        }
        Command::Import {
            db,
            kind,
            file,
            program,
            map,
            rejects,
        } => {
            let kind: vafa_server::import::ImportKind = kind.parse().map_err(anyhow::Error::msg)?;
            let mapping = vafa_server::import::parse_mapping(map.iter().map(String::as_str))
                .map_err(|e| anyhow::anyhow!("--map {e}"))?;
            let store = open(&db, false).await?;
            if store.get_program(&program).await?.is_none() {
                bail!("no program {program}");
            }
            let rejects = rejects.unwrap_or_else(|| {
                let mut p = file.clone().into_os_string();
                p.push(".rejects.csv");
                p.into()
            });
            let s = data::import_file(
                store.as_ref(),
                &cli_ctx(&program),
                kind,
                &file,
                &mapping,
                &rejects,
            )
            .await?;
            eprintln!(
                "{} rows in {:.1} s: {} imported, {} unchanged (already there), {} rejected{}",
                s.rows,
                s.seconds,
                s.imported,
                s.unchanged,
                s.rejected,
                if s.rejected > 0 {
                    format!(" (see {})", rejects.display())
                } else {
                    String::new()
                }
            );
            if !s.ignored_columns.is_empty() {
                eprintln!(
                    "columns not read: {} (map them with --map \"Header=field\")",
                    s.ignored_columns.join(", ")
                );
            }
            outln!("{}", serde_json::to_string(&s)?);
            Ok(())
        }
        Command::Export {
            db,
            table,
            program,
            format,
            out,
        } => {
            let table: vafa_store::history::ExportTable =
                table.parse().map_err(anyhow::Error::msg)?;
            let format: vafa_server::export::Format = format.parse().map_err(anyhow::Error::msg)?;
            let store = open(&db, false).await?;
            if store.get_program(&program).await?.is_none() {
                bail!("no program {program}");
            }
            let rows = match out {
                Some(path) => {
                    let f = std::fs::File::create(&path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    let mut w = std::io::BufWriter::new(f);
                    data::export_to(store.as_ref(), &program, table, format, &mut w).await?
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    data::export_to(store.as_ref(), &program, table, format, &mut w).await?
                }
            };
            eprintln!("{rows} rows exported");
            Ok(())
        }
        Command::Apikey { command } => keys(command).await,
        Command::Staff {
            command:
                StaffCommand::Create {
                    db,
                    program,
                    username,
                    name,
                    role,
                    password_env,
                },
        } => {
            let store = open(&db, false).await?;
            let s = staff::create(
                store.as_ref(),
                &cli_ctx(&program),
                username,
                name,
                role,
                &password_env,
            )
            .await?;
            outln!(
                "staff {} ({}): sign in at /login as {}",
                s.id,
                s.role.as_str(),
                s.username
            );
            Ok(())
        }
        Command::Ledger { command } => ledger(command).await,
        Command::Report { command } => report(command).await,
        Command::Coupons { command } => coupons(command).await,
    }
}

/// A day as people type it: ISO (`2026-11-22`) or Jalali (`1405/09/01`), in any digits,
/// between the years 1900 and 2200 — what the report endpoints take.
fn calendar_day(s: &str) -> std::result::Result<jiff::civil::Date, String> {
    let day = vafa_core::date::parse_calendar_date(s)
        .map_err(|e| format!("{e}: a day like 2026-11-22 or 1405/09/01"))?;
    if !(1900..=2200).contains(&day.year()) {
        return Err("must be between the years 1900 and 2200".to_owned());
    }
    Ok(day)
}

async fn keys(command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Create {
            db,
            program,
            role,
            name,
            json,
        } => {
            let role = Role::for_api_key(&role).map_err(anyhow::Error::msg)?;
            let store = open(&db, false).await?;
            let key = store
                .create_api_key(&cli_ctx(&program), role, name.as_deref())
                .await?;
            if json {
                outln!(
                    "{}",
                    serde_json::json!({ "api_key": key.api_key, "key_id": key.key_id, "role": role })
                );
            } else {
                outln!("key {} ({role})\n{}  (shown once)", key.key_id, key.api_key);
            }
        }
        KeyCommand::List { db, program, json } => {
            let store = open(&db, false).await?;
            if store.get_program(&program).await?.is_none() {
                bail!("no program {program}");
            }
            let keys = store.list_api_keys(&program).await?;
            if json {
                outln!("{}", serde_json::to_string(&keys)?);
            } else {
                for k in keys {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    outln!(
                        "{}  {:<8} {:<8} {}",
                        k.id,
                        k.role,
                        state,
                        k.name.unwrap_or_default()
                    );
                }
            }
        }
        KeyCommand::Revoke { db, program, key } => {
            let store = open(&db, false).await?;
            store.revoke_api_key(&cli_ctx(&program), &key).await?;
            outln!("revoked {key}");
        }
    }
    Ok(())
}

async fn ledger(command: LedgerCommand) -> Result<()> {
    match command {
        LedgerCommand::Verify { db, program, json } => {
            let store = open(&db, false).await?;
            let report = store.verify_ledger(program.as_deref()).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                outln!(
                    "checked {} entries, {} postings, {} accounts, {} lots",
                    report.entries,
                    report.postings,
                    report.accounts,
                    report.lots
                );
                for p in &report.problems {
                    outln!("MISMATCH {p}");
                }
            }
            if !report.problems.is_empty() {
                bail!(
                    "the ledger does not verify: {} problem(s)",
                    report.problems.len()
                );
            }
            if !json {
                outln!("ok: every entry and program sums to zero; balances, debts and lots match the postings");
            }
            Ok(())
        }
        LedgerCommand::Expire { db, program } => {
            let store = open(&db, false).await?;
            // A typo in a cron line must fail, not expire nothing (or, empty, every program).
            if let Some(id) = &program {
                if store.get_program(id).await?.is_none() {
                    bail!("no program {id:?} in this database");
                }
            }
            let run = store
                .expire_lots(
                    program.as_deref().unwrap_or(""),
                    jiff::Timestamp::now(),
                    1000,
                    1000,
                )
                .await?;
            outln!(
                "expired {} lots ({} points) in {} batches, and {} unused reward claims",
                run.lots_expired,
                run.points_expired,
                run.batches,
                run.claims_expired
            );
            Ok(())
        }
    }
}

async fn coupons(command: CouponCommand) -> Result<()> {
    match command {
        CouponCommand::Generate {
            db,
            program,
            name,
            pattern,
            count,
            code,
            rules,
            codes_out,
        } => {
            let rules =
                serde_json::from_str(&rules).context("--rules is not valid coupon rules JSON")?;
            let input = vafa_server::api::coupons::CouponBatchInput {
                name,
                pattern,
                count,
                code,
                rules,
            };
            let batch = vafa_server::api::coupons::parse_batch(input, 10_000_000)
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            let store = open(&db, false).await?;
            let total = match &batch.source {
                vafa_store::CouponSource::Pattern { count, .. } => u64::from(*count),
                vafa_store::CouponSource::Shared { .. } => 1,
            };
            let bar = indicatif::ProgressBar::new(total).with_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} codes, {per_sec}, {eta} left",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let b = store
                .create_coupon_batch(&cli_ctx(&program), &batch, &|n| bar.set_position(n))
                .await?;
            bar.finish();
            eprintln!(
                "{} codes in {:.2} s",
                b.generated,
                started.elapsed().as_secs_f64()
            );
            if let Some(path) = codes_out {
                let mut out = String::from("code\n");
                let mut after = String::new();
                loop {
                    let page = store.coupon_codes(&program, &b.id, &after, 10_000).await?;
                    let Some(last) = page.last() else { break };
                    after = last.0.clone();
                    for (c, _) in page {
                        out.push_str(&c);
                        out.push('\n');
                    }
                }
                std::fs::write(&path, out)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            outln!("{}", serde_json::to_string_pretty(&b)?);
            Ok(())
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Bulk work runs large statements on purpose: sqlx's slow-statement warnings would
    // only bury the progress bar.
    let default_filter = match cli.command {
        Command::Demo { .. } | Command::Import { .. } | Command::Export { .. } => "info,sqlx=error",
        _ => "info,sqlx=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn report(command: ReportCommand) -> Result<()> {
    use vafa_server::api::analytics::{self as a, ClvQuery, PeriodQuery, TimeUnit};
    let fail = |e: vafa_server::error::ApiError| anyhow::anyhow!("{}", e.detail);
    let now = jiff::Timestamp::now();
    let json = match command {
        ReportCommand::Pareto {
            db,
            program,
            from,
            to,
        } => {
            let store = open(&db, false).await?;
            let rc = a::ReportCtx {
                store: store.as_ref(),
                program_id: &program,
                now,
            };
            serde_json::to_string_pretty(
                &a::pareto_report(&rc, &PeriodQuery { from, to })
                    .await
                    .map_err(fail)?,
            )?
        }
        ReportCommand::Kpis {
            db,
            program,
            from,
            to,
        } => {
            let store = open(&db, false).await?;
            let rc = a::ReportCtx {
                store: store.as_ref(),
                program_id: &program,
                now,
            };
            serde_json::to_string_pretty(
                &a::kpis_report(&rc, &PeriodQuery { from, to })
                    .await
                    .map_err(fail)?,
            )?
        }
        ReportCommand::Cohorts {
            db,
            program,
            to,
            months,
        } => {
            let store = open(&db, false).await?;
            let rc = a::ReportCtx {
                store: store.as_ref(),
                program_id: &program,
                now,
            };
            serde_json::to_string_pretty(
                &a::cohorts_report(&rc, &a::CohortQuery { to, months })
                    .await
                    .map_err(fail)?,
            )?
        }
        ReportCommand::Rfm {
            db,
            program,
            as_of,
            window_days,
            segment,
            limit,
        } => {
            let store = open(&db, false).await?;
            let rc = a::ReportCtx {
                store: store.as_ref(),
                program_id: &program,
                now,
            };
            let q = a::RfmQuery {
                as_of,
                window_days,
                segment,
                limit,
            };
            serde_json::to_string_pretty(&a::rfm_report(&rc, &q).await.map_err(fail)?)?
        }
        ReportCommand::Clv {
            db,
            program,
            calibration_end,
            time_unit,
            customers,
            order,
            limit,
            horizon_days,
        } => {
            let store = open(&db, false).await?;
            let rc = a::ReportCtx {
                store: store.as_ref(),
                program_id: &program,
                now,
            };
            let q = ClvQuery {
                calibration_end,
                time_unit: time_unit.map(|u| {
                    if u == "week" {
                        TimeUnit::Week
                    } else {
                        TimeUnit::Day
                    }
                }),
                horizon_days,
                order,
                limit,
            };
            if customers {
                serde_json::to_string_pretty(
                    &a::clv_customers_report(&rc, &q).await.map_err(fail)?,
                )?
            } else {
                serde_json::to_string_pretty(&a::clv_model_report(&rc, &q).await.map_err(fail)?)?
            }
        }
    };
    outln!("{json}");
    Ok(())
}
