//! `vafa demo` and `vafa serve --demo`: a demo program with a progress bar.

use anyhow::Result;
use vafa_store::demo::{DemoOptions, DemoReport};
use vafa_store::Store;

/// Generate a demo program into `store`, drawing progress on standard error.
pub async fn run(store: &dyn Store, opts: &DemoOptions) -> Result<DemoReport> {
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
    Ok(report)
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

/// The keys of a demo, for people to copy.
pub fn print_keys(report: &DemoReport) {
    eprintln!("  admin key    {}", report.admin_key.api_key);
    eprintln!("  cashier key  {}", report.cashier_key.api_key);
    eprintln!("  analyst key  {}", report.analyst_key.api_key);
    eprintln!("  (the keys are shown once; a demo made again makes new ones)");
}
