//! The dashboard: the program's KPIs over a chosen period (the last 30 days unless
//! `?from=…&to=…` says otherwise) and its charts — revenue and repeat rate by month up to
//! the period's end, tiers, the Pareto curve and the points of the period, retention
//! cohorts up to its end, the liability now — from the same reports as
//! `/api/v1/analytics/…`.

use super::period::Period;
use super::{answer, charts, render, Chrome, Lang, Ui, UiResult, View};
use crate::api::analytics::{
    cohorts_report, kpis_of_sales, month_of, pareto_report, program_sales, CohortQuery,
    PeriodQuery, ReportCtx,
};
use crate::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use vafa_core::auth::Permission;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(page))
}

pub struct Card {
    pub label: String,
    pub value: String,
    pub note: String,
}

pub struct Chart {
    pub title: String,
    pub svg: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    cards: Vec<Card>,
    charts: Vec<Chart>,
    period: Period,
}

/// The KPIs' period unless one is chosen.
const DEFAULT_DAYS: i16 = 30;
/// Months the monthly charts show at least (ending with the period's), and at most.
const MONTHS_MIN: i64 = 12;
const MONTHS_MAX: i64 = 36;

async fn page(State(state): State<AppState>, ui: Ui, RawQuery(q): RawQuery) -> Response {
    let r = build(&state, &ui, q.as_deref()).await;
    answer(&ui, r)
}

/// Month labels of the analytics' calendar (Jalali for a Persian program).
fn month_name(v: &View, jalali: bool, m: i64) -> String {
    let v = View {
        calendar: if jalali {
            vafa_core::ledger::CalendarKind::Jalali
        } else {
            vafa_core::ledger::CalendarKind::Gregorian
        },
        ..v.clone()
    };
    v.month_label(m.div_euclid(12) as i32, (m.rem_euclid(12) + 1) as u8)
}

async fn build(state: &AppState, ui: &Ui, query: Option<&str>) -> UiResult {
    ui.require(Permission::AnalyticsRead)?;
    let v = &ui.v;
    let store = state.store.as_ref();
    let now = state.clock.now();
    let today = now.to_zoned(v.tz.clone()).date();
    let period = Period::read(v, &ui.path, query, today, DEFAULT_DAYS);
    let rc = ReportCtx {
        store,
        program_id: &ui.principal.program_id,
        now,
    };
    let range = PeriodQuery {
        from: Some(period.from),
        to: Some(period.to),
    };
    // One read of the sales (through the period's end) serves the KPIs, revenue and
    // repeat rate by month.
    let sales = program_sales(&rc, Some(period.to)).await?;
    let k = kpis_of_sales(&rc, &range, &sales).await?;
    let pareto = pareto_report(&rc, &range).await?;
    let cohorts = cohorts_report(
        &rc,
        &CohortQuery {
            to: Some(period.to),
            months: Some(12),
        },
    )
    .await?;
    let jalali = ui.program.locale == vafa_core::program::Locale::Fa;
    // The months of the period, or the twelve ending with its last.
    let this_month = month_of(period.to, jalali);
    let months = (this_month - month_of(period.from, jalali) + 1).clamp(MONTHS_MIN, MONTHS_MAX);
    let first = this_month - months + 1;

    // Revenue, buyers and returning buyers per month of the last twelve.
    let mut first_month: HashMap<&str, i64> = HashMap::new();
    for s in &sales {
        let e = first_month.entry(s.customer_id.as_str()).or_insert(s.month);
        *e = (*e).min(s.month);
    }
    let mut revenue = vec![0i64; months as usize];
    let mut buyers: Vec<HashMap<&str, bool>> = vec![HashMap::new(); months as usize];
    for s in sales
        .iter()
        .filter(|s| s.month >= first && s.month <= this_month)
    {
        let i = (s.month - first) as usize;
        revenue[i] += s.net_minor;
        let returning = first_month
            .get(s.customer_id.as_str())
            .is_some_and(|f| *f < s.month);
        buyers[i].insert(s.customer_id.as_str(), returning);
    }
    let month_bars: Vec<(String, i64)> = (first..=this_month)
        .zip(revenue)
        .map(|(m, net)| (month_name(v, jalali, m), net))
        .collect();
    let repeat: Vec<(String, f64)> = (first..=this_month)
        .zip(&buyers)
        .map(|(m, b)| {
            let back = b.values().filter(|r| **r).count();
            let pct = if b.is_empty() {
                0.0
            } else {
                back as f64 * 100.0 / b.len() as f64
            };
            (month_name(v, jalali, m), pct)
        })
        .collect();

    let amount = |m: &crate::api::money::MoneyDto| v.minor_of(&m.amount);
    let cards = vec![
        card(v, "active_customers", v.n(&k.active_customers), ""),
        card(v, "new_customers", v.n(&k.new_customers), ""),
        card(v, "revenue", v.money(&amount(&k.revenue)), ""),
        card(
            v,
            "repeat_rate",
            v.pct(&k.repeat_purchase_rate),
            "repeat_rate_note",
        ),
        card(v, "aov", v.money(&amount(&k.average_order_value)), ""),
        // Against the period of the same length just before (docs/analytics.md).
        Card {
            label: v.t("retention_rate"),
            value: v.pct(&k.retention_rate),
            note: v.tf(
                "retention_note",
                &[(
                    "days",
                    v.n(&(period
                        .to
                        .since(period.from)
                        .map_or(0, |s| i64::from(s.get_days()))
                        + 1)),
                )],
            ),
        },
        card(v, "active_members", v.pct(&k.active_member_percent), ""),
        card(
            v,
            "liability",
            v.money(&amount(&k.liability_total)),
            "liability_note",
        ),
    ];

    let mut list = Vec::new();
    // Bars in the unit shown (toman or rial), as short figures.
    let per = v.unit_minor().max(1);
    list.push(Chart {
        title: v.tf("revenue_by_month", &[("unit", v.unit_name())]),
        svg: charts::bars(
            v.lang,
            &month_bars,
            |x| v.money(&x),
            |x| short_amount(v.lang, x / per),
        ),
        note: String::new(),
    });
    list.push(Chart {
        title: v.t("repeat_by_month"),
        svg: charts::line(v.lang, &repeat, 100.0, |p| v.lang.decimal(p, 0)),
        note: v.t("repeat_by_month_note"),
    });
    list.push(tier_chart(state, ui).await?);
    let curve: Vec<(f64, f64)> = pareto
        .curve
        .iter()
        .map(|c| (f64::from(c.customers_percent), c.revenue_percent))
        .collect();
    list.push(Chart {
        title: v.t("pareto"),
        svg: charts::pareto(v.lang, &curve, &v.t("customers_axis"), &v.t("revenue_axis")),
        note: v.tf(
            "pareto_note",
            &[("top", v.pct(&pareto.top_20_revenue_percent))],
        ),
    });
    let cols: Vec<String> = (0..12).map(|i| v.digits(&format!("+{i}"))).collect();
    let rows: Vec<(String, Vec<charts::Cell>)> = cohorts
        .cohorts
        .iter()
        .map(|c| {
            let (y, m) = c.month.split_once('-').unwrap_or(("0", "1"));
            let label = format!(
                "{} ({})",
                month_name(
                    v,
                    jalali,
                    y.parse::<i64>().unwrap_or(0) * 12 + m.parse::<i64>().unwrap_or(1) - 1
                ),
                v.n(&c.customers)
            );
            (
                label,
                (0..12)
                    .map(|i| c.retention.get(i).map(|p| (*p, v.lang.decimal(*p, 0))))
                    .collect(),
            )
        })
        .collect();
    list.push(Chart {
        title: v.t("cohorts"),
        svg: charts::heatmap(v.lang, &rows, &cols),
        note: v.t("cohorts_note"),
    });
    let points = [
        (v.t("issued"), k.points.issued),
        (v.t("redeemed"), k.points.redeemed),
        (v.t("expired"), k.points.expired),
    ];
    list.push(Chart {
        title: v.t("points_in_period"),
        svg: charts::bars(v.lang, &points, |x| v.n(&x), |x| v.n(&x)),
        note: v.tf(
            "points_rates",
            &[
                ("redemption", v.pct(&k.points.redemption_rate)),
                ("breakage", v.pct(&k.points.breakage_rate)),
            ],
        ),
    });
    let liability: Vec<(String, i64)> = k
        .liability
        .iter()
        .map(|b| (v.t(&format!("expires_{}", b.expires)), amount(&b.value)))
        .collect();
    list.push(Chart {
        title: v.t("liability_by_expiry"),
        svg: charts::hbars(v.lang, &liability, |x| v.money(&x)),
        note: String::new(),
    });
    let refused = period.refused();
    let page = render(&DashboardPage {
        c: ui.chrome("nav_dashboard"),
        cards,
        charts: list,
        period,
    });
    // A date that is not one: the page with what was typed and why, as a refused form.
    Ok(if refused {
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    } else {
        page
    })
}

fn card(v: &View, key: &str, value: String, note: &str) -> Card {
    Card {
        label: v.t(key),
        value,
        note: if note.is_empty() {
            String::new()
        } else {
            v.t(note)
        },
    }
}

/// 12.3M / ۱۲٫۳ م: a bar's short label.
fn short_amount(lang: Lang, units: i64) -> String {
    let (value, suffix) = if units.abs() >= 1_000_000 {
        (units as f64 / 1_000_000.0, lang.t("millions_short"))
    } else if units.abs() >= 1_000 {
        (units as f64 / 1_000.0, lang.t("thousands_short"))
    } else {
        return lang.number(units);
    };
    format!("{}{suffix}", lang.decimal(value, 1))
}

async fn tier_chart(state: &AppState, ui: &Ui) -> Result<Chart, super::UiError> {
    let v = &ui.v;
    let pid = &ui.principal.program_id;
    let ladder = state.store.tier_ladder(pid).await?;
    let counts = state.store.tier_counts(pid).await?;
    let Some(ladder) = ladder else {
        return Ok(Chart {
            title: v.t("tiers_chart"),
            svg: String::new(),
            note: v.t("no_ladder"),
        });
    };
    let first = ladder.tiers.first().map(|t| t.code.clone());
    let mut per: HashMap<String, i64> = HashMap::new();
    for (code, n) in counts {
        // No row, or a tier the ladder no longer has: the first tier.
        let code = code
            .filter(|c| ladder.tiers.iter().any(|t| &t.code == c))
            .or_else(|| first.clone())
            .unwrap_or_default();
        *per.entry(code).or_default() += n;
    }
    let rows: Vec<(String, i64)> = ladder
        .tiers
        .iter()
        .map(|t| {
            let name = match (v.lang, &t.name_en) {
                (Lang::En, Some(en)) => en.clone(),
                _ => t.name.clone(),
            };
            (name, per.get(&t.code).copied().unwrap_or(0))
        })
        .collect();
    Ok(Chart {
        title: v.t("tiers_chart"),
        svg: charts::hbars(v.lang, &rows, |x| v.n(&x)),
        note: String::new(),
    })
}
