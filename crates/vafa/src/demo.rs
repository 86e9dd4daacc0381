//! `vafa demo` and `vafa serve --demo`: a demo program with a progress bar.

use crate::demo_crm::CrmReport;
use anyhow::Result;
use vafa_store::demo::{DemoOptions, DemoReport};
use vafa_store::Store;

/// What a demo made: the loyalty program's report and the CRM's.
#[derive(Debug, Clone)]
pub struct DemoOutput {
    pub loyalty: DemoReport,
    pub crm: CrmReport,
}

impl DemoOutput {
    /// The report as `vafa demo --json` prints it: the loyalty report's fields at the
    /// top level, as before, and the CRM's under `crm`.
    pub fn to_json(&self) -> Result<serde_json::Value> {
        let mut v = serde_json::to_value(&self.loyalty)?;
        if let Some(map) = v.as_object_mut() {
            map.insert("crm".to_owned(), self.crm.to_json());
        }
        Ok(v)
    }
}

/// Generate a demo program into `store`, drawing progress on standard error.
pub async fn run(store: &dyn Store, opts: &DemoOptions) -> Result<DemoOutput> {
    let bar = indicatif::ProgressBar::new(u64::from(opts.customers)).with_style(
        indicatif::ProgressStyle::with_template(
            "demo {bar:40} {pos}/{len} customers, {msg} purchases, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let report = vafa_store::demo::generate(store, opts, &|p| {
        bar.set_position(p.customers_done);
        bar.set_message(p.purchases.to_string());
    })
    .await?;
    bar.finish_and_clear();
    eprintln!(
        "demo program {}: {} customers, {} purchases ({} returned, {} redemptions, {} tier upgrades) over {} months in {:.1} s",
        report.program_id,
        report.customers,
        report.purchases,
        report.returns,
        report.redemptions,
        report.upgrades,
        opts.months,
        started.elapsed().as_secs_f64()
    );
    let crm = run_crm(store, opts, &report).await?;
    Ok(DemoOutput {
        loyalty: report,
        crm,
    })
}

async fn run_crm(store: &dyn Store, opts: &DemoOptions, report: &DemoReport) -> Result<CrmReport> {
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("crm  {bar:40} {pos}/{len} steps, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let crm = crate::demo_crm::seed(store, opts, report, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    let one = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    eprintln!(
        "demo CRM: {} staff, {} customers in care over the last 60 days: {} interactions, {} tickets \
         ({} open, {} past an SLA deadline, {} goodwill points), {} of {} CSAT links answered \
         (average {}), {} NPS answers (NPS {}), {} tasks and promises ({} open, {} overdue; \
         {} promises kept, {} missed), {} orders, in {:.1} s",
        crm.staff.len(),
        crm.customers,
        crm.interactions,
        crm.tickets,
        crm.tickets_open,
        crm.tickets_breached,
        crm.goodwill_points,
        crm.csat_answered,
        crm.csat_requested,
        one(crm.csat_average),
        crm.nps_answered,
        crm.nps.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}")),
        crm.tasks,
        crm.tasks_open,
        crm.tasks_overdue,
        crm.promises_kept,
        crm.promises_missed,
        crm.orders,
        started.elapsed().as_secs_f64()
    );
    Ok(crm)
}

/// When a demo's history ends: the start of `day` in Tehran (default today), so the same
/// seed gives the same demo all day long — and on any later day with `--as-of`.
pub fn anchor(day: Option<jiff::civil::Date>) -> Result<jiff::Timestamp> {
    let tz = jiff::tz::TimeZone::get("Asia/Tehran")?;
    let now = jiff::Timestamp::now();
    let day = day.unwrap_or_else(|| now.to_zoned(tz.clone()).date());
    let at = day.to_zoned(tz)?.timestamp();
    if at > now {
        anyhow::bail!("--as-of {day} is in the future");
    }
    Ok(at)
}

/// The keys and staff logins of a demo, for people to copy.
pub fn print_credentials(demo: &DemoOutput) {
    let report = &demo.loyalty;
    eprintln!("  admin key    {}", report.admin_key.api_key);
    eprintln!("  cashier key  {}", report.cashier_key.api_key);
    eprintln!("  analyst key  {}", report.analyst_key.api_key);
    eprintln!("  (the keys are shown once; a demo made again makes new ones)");
    eprintln!("  staff logins, password {}:", demo.crm.password);
    for s in &demo.crm.staff {
        eprintln!("    {:<16} {:<8} {}", s.username, s.role.as_str(), s.name);
    }
}
