//! `/api/v1/analytics`: Pareto concentration and customer lifetime value (BG/NBD and
//! Gamma-Gamma fitted on the program's purchases). The maths is in
//! `vafa_core::analytics`; here, turning purchases into periods in the program's timezone.

use crate::api::money::MoneyDto;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::analytics::clv::{self, BgNbd, CustomerInput, GammaGamma};
use vafa_core::analytics::pareto::{pareto, CurvePoint, CustomerRevenue};
use vafa_core::program::Currency;

/// What a report needs: the store, the program, and the moment "today" is judged at.
/// The HTTP handlers and `vafa report` both build one, so they print the same figures.
pub struct ReportCtx<'a> {
    pub store: &'a dyn vafa_store::Store,
    pub program_id: &'a str,
    pub now: jiff::Timestamp,
}

impl ReportCtx<'_> {
    /// The program's timezone and currency.
    async fn program(&self) -> Result<(jiff::tz::TimeZone, Currency), ApiError> {
        let p = self
            .store
            .get_program(self.program_id)
            .await?
            .ok_or_else(|| ApiError::not_found("program"))?;
        let tz = jiff::tz::TimeZone::get(&p.timezone)
            .map_err(|e| ApiError::internal("program timezone", &e))?;
        Ok((tz, p.currency))
    }
}

fn report_ctx<'a>(state: &'a AppState, auth: &'a Auth) -> ReportCtx<'a> {
    ReportCtx {
        store: state.store.as_ref(),
        program_id: auth.program_id(),
        now: state.clock.now(),
    }
}

/// A report's day, as an analyst types it: ISO (`2026-11-22`) or Jalali (`1405/09/01`),
/// in any digits, between the years 1900 and 2200.
fn calendar_day<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<jiff::civil::Date>, D::Error> {
    use serde::de::Error;
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let day = vafa_core::date::parse_calendar_date(&s)
        .map_err(|e| D::Error::custom(format!("{e}: a day like 2026-11-22 or 1405/09/01")))?;
    if !(1900..=2200).contains(&day.year()) {
        return Err(D::Error::custom("must be between the years 1900 and 2200"));
    }
    Ok(Some(day))
}

fn day_index(d: jiff::civil::Date) -> i64 {
    d.since(jiff::civil::date(1970, 1, 1))
        .map(|s| i64::from(s.get_days()))
        .unwrap_or(0)
}

/// The first instant after local date `d` ends; `field` is the parameter that gave `d`.
fn end_of(
    d: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
    field: &str,
) -> Result<jiff::Timestamp, ApiError> {
    d.tomorrow()
        .and_then(|t| t.to_zoned(tz.clone()))
        .map(|z| z.timestamp())
        .map_err(|_| ApiError::field(field, "out of range"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First local date (inclusive); default one year before `to`.
    #[param(value_type = Option<String>, example = "2026-11-01", pattern = r"^[0-9۰-۹٠-٩]{4}[-/][0-9۰-۹٠-٩]{1,2}[-/][0-9۰-۹٠-٩]{1,2}$")]
    #[serde(default, deserialize_with = "calendar_day")]
    pub from: Option<jiff::civil::Date>,
    /// Last local date (inclusive); default today.
    #[param(value_type = Option<String>, example = "2026-11-01", pattern = r"^[0-9۰-۹٠-٩]{4}[-/][0-9۰-۹٠-٩]{1,2}[-/][0-9۰-۹٠-٩]{1,2}$")]
    #[serde(default, deserialize_with = "calendar_day")]
    pub to: Option<jiff::civil::Date>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurvePointView {
    pub customers_percent: u32,
    pub revenue_percent: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParetoView {
    #[schema(value_type = String, format = Date)]
    pub from: jiff::civil::Date,
    #[schema(value_type = String, format = Date)]
    pub to: jiff::civil::Date,
    /// Customers who bought in the period.
    pub customers: i64,
    /// Revenue net of returns.
    pub revenue: MoneyDto,
    pub top_20_revenue_percent: f64,
    pub customers_for_80_percent: f64,
    pub one_time_customers: i64,
    pub one_time_revenue_percent: f64,
    pub repeat_customers: i64,
    pub repeat_revenue_percent: f64,
    /// 0% … 100% of customers, best first, and the share of revenue they bring.
    pub curve: Vec<CurvePointView>,
}

/// Who brings the revenue: the share of the top 20% of customers, the whole curve, and
/// one-time against repeat buyers, over local dates `from`..=`to`.
#[utoipa::path(get, path = "/api/v1/analytics/pareto", tag = "analytics",
    params(PeriodQuery), responses((status = 200, body = ParetoView), (status = 422)),
    security(("api_key" = ["analytics.read"])))]
pub async fn pareto_view(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<axum::Json<ParetoView>> {
    Ok(axum::Json(
        pareto_report(&report_ctx(&state, &auth), &q).await?,
    ))
}

/// The Pareto figures of a program over a period.
pub async fn pareto_report(rc: &ReportCtx<'_>, q: &PeriodQuery) -> Result<ParetoView, ApiError> {
    let (tz, currency) = rc.program().await?;
    let today = rc.now.to_zoned(tz.clone()).date();
    let to = q.to.unwrap_or(today);
    let from = match q.from {
        Some(f) => f,
        None => to
            .checked_sub(jiff::Span::new().years(1))
            .and_then(|d| d.tomorrow())
            .map_err(|_| ApiError::field("to", "out of range"))?,
    };
    if from > to {
        return Err(ApiError::field("from", "must not be after to"));
    }
    let start = from
        .to_zoned(tz.clone())
        .map_err(|_| ApiError::field("from", "out of range"))?
        .timestamp();
    let aggs = rc
        .store
        .customer_aggregates(rc.program_id, start, end_of(to, &tz, "to")?)
        .await?;
    let data: Vec<CustomerRevenue> = aggs
        .iter()
        .map(|a| CustomerRevenue {
            revenue_minor: a.net_minor,
            purchases: a.purchases,
        })
        .collect();
    let p = pareto(&data);
    Ok(ParetoView {
        from,
        to,
        customers: p.customers,
        revenue: MoneyDto::of(p.revenue_minor, currency),
        top_20_revenue_percent: p.top_20_revenue_percent,
        customers_for_80_percent: p.customers_for_80_percent,
        one_time_customers: p.one_time_customers,
        one_time_revenue_percent: p.one_time_revenue_percent,
        repeat_customers: p.repeat_customers,
        repeat_revenue_percent: p.repeat_revenue_percent,
        curve: p
            .curve
            .into_iter()
            .map(
                |CurvePoint {
                     customers_percent,
                     revenue_percent,
                 }| CurvePointView {
                    customers_percent,
                    revenue_percent,
                },
            )
            .collect(),
    })
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Day,
    Week,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClvQuery {
    /// Last local date of the calibration period (default today).
    #[param(value_type = Option<String>, example = "2026-11-01", pattern = r"^[0-9۰-۹٠-٩]{4}[-/][0-9۰-۹٠-٩]{1,2}[-/][0-9۰-۹٠-٩]{1,2}$")]
    #[serde(default, deserialize_with = "calendar_day")]
    pub calibration_end: Option<jiff::civil::Date>,
    /// The period repeat purchases are counted in (default `day`).
    pub time_unit: Option<TimeUnit>,
    /// Customers: how far ahead to predict, in days (default 365).
    #[param(minimum = 1, maximum = 3650)]
    pub horizon_days: Option<u32>,
    /// Customers: `value` (highest predicted value first, default) or `churn_risk`
    /// (repeat buyers least likely to be alive first).
    pub order: Option<String>,
    /// Customers: how many (default 50, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The model's own parameters: the fit, without the customers' list options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClvModelQuery {
    /// Last local date of the calibration period (default today).
    #[param(value_type = Option<String>, example = "2026-11-01", pattern = r"^[0-9۰-۹٠-٩]{4}[-/][0-9۰-۹٠-٩]{1,2}[-/][0-9۰-۹٠-٩]{1,2}$")]
    #[serde(default, deserialize_with = "calendar_day")]
    pub calibration_end: Option<jiff::civil::Date>,
    /// The period repeat purchases are counted in (default `day`).
    pub time_unit: Option<TimeUnit>,
}

struct Fitted {
    calibration_end: jiff::civil::Date,
    unit: TimeUnit,
    inputs: Vec<CustomerInput>,
    bgnbd: clv::Fit<BgNbd>,
    gg: Option<clv::Fit<GammaGamma>>,
    currency: Currency,
}

async fn fit(rc: &ReportCtx<'_>, q: &ClvQuery) -> Result<Fitted, ApiError> {
    let (tz, currency) = rc.program().await?;
    let end = q
        .calibration_end
        .unwrap_or_else(|| rc.now.to_zoned(tz.clone()).date());
    let unit = q.time_unit.unwrap_or(TimeUnit::Day);
    let per = |d: jiff::civil::Date| match unit {
        TimeUnit::Day => day_index(d),
        TimeUnit::Week => day_index(d).div_euclid(7),
    };
    let rows = rc
        .store
        .purchase_rows(rc.program_id, end_of(end, &tz, "calibration_end")?)
        .await?;
    let periods: Vec<(String, i64, i64)> = rows
        .into_iter()
        .map(|r| {
            let d = r.occurred_at.to_zoned(tz.clone()).date();
            (r.customer_id, per(d), r.net_minor)
        })
        .collect();
    let end_period = per(end);
    // Fitting is CPU work of up to seconds: keep it off the async workers.
    let (inputs, bgnbd, gg) = tokio::task::spawn_blocking(move || {
        let inputs = clv::customer_inputs(&periods, end_period);
        let summaries: Vec<clv::Summary> = inputs.iter().map(|c| c.summary).collect();
        let bgnbd = clv::fit_bgnbd(&summaries);
        let spend: Vec<(f64, f64)> = inputs
            .iter()
            .filter_map(|c| c.repeat_spend.map(|m| (c.summary.frequency, m)))
            .collect();
        let gg = clv::fit_gamma_gamma(&spend).ok();
        (inputs, bgnbd, gg)
    })
    .await
    .map_err(|e| ApiError::internal("clv fit", &e))?;
    let bgnbd =
        bgnbd.map_err(|e| ApiError::field("calibration_end", format!("cannot fit: {e}")))?;
    Ok(Fitted {
        calibration_end: end,
        unit,
        inputs,
        bgnbd,
        gg,
        currency,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BgNbdView {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    pub log_likelihood: f64,
    pub iterations: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GammaGammaView {
    pub p: f64,
    pub q: f64,
    /// In minor units of the program currency.
    pub gamma: f64,
    pub log_likelihood: f64,
    pub iterations: u64,
    /// p·γ/(q − 1): the mean spend per transaction across customers.
    pub population_mean_spend: Option<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClvModelView {
    #[schema(value_type = String, format = Date)]
    pub calibration_end: jiff::civil::Date,
    pub time_unit: TimeUnit,
    pub customers: usize,
    pub repeat_customers: usize,
    pub bgnbd: BgNbdView,
    /// None when fewer than 10 customers bought twice.
    pub gamma_gamma: Option<GammaGammaView>,
}

/// The fitted models: BG/NBD (`r`, `alpha`, `a`, `b`) for purchases and survival,
/// Gamma-Gamma (`p`, `q`, `gamma`) for spend, each with its log-likelihood.
#[utoipa::path(get, path = "/api/v1/analytics/clv/model", tag = "analytics",
    params(ClvModelQuery), responses((status = 200, body = ClvModelView), (status = 422, description = "too little data to fit, or a parameter it does not take")),
    security(("api_key" = ["analytics.read"])))]
pub async fn clv_model(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ClvModelQuery>,
) -> ApiResult<axum::Json<ClvModelView>> {
    let q = ClvQuery {
        calibration_end: q.calibration_end,
        time_unit: q.time_unit,
        horizon_days: None,
        order: None,
        limit: None,
    };
    Ok(axum::Json(
        clv_model_report(&report_ctx(&state, &auth), &q).await?,
    ))
}

/// The fitted CLV models of a program.
pub async fn clv_model_report(rc: &ReportCtx<'_>, q: &ClvQuery) -> Result<ClvModelView, ApiError> {
    let f = fit(rc, q).await?;
    let b = f.bgnbd.params;
    Ok(ClvModelView {
        calibration_end: f.calibration_end,
        time_unit: f.unit,
        customers: f.inputs.len(),
        repeat_customers: f
            .inputs
            .iter()
            .filter(|c| c.summary.frequency > 0.0)
            .count(),
        bgnbd: BgNbdView {
            r: b.r,
            alpha: b.alpha,
            a: b.a,
            b: b.b,
            log_likelihood: f.bgnbd.log_likelihood,
            iterations: f.bgnbd.iterations,
        },
        gamma_gamma: f.gg.map(|g| GammaGammaView {
            p: g.params.p,
            q: g.params.q,
            gamma: g.params.gamma,
            log_likelihood: g.log_likelihood,
            iterations: g.iterations,
            population_mean_spend: g
                .params
                .population_mean()
                .map(|m| MoneyDto::of(m.round() as i64, f.currency)),
        }),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerClvView {
    pub customer_id: String,
    /// Repeat transactions (periods with a purchase after the first).
    pub frequency: f64,
    pub recency: f64,
    pub age: f64,
    pub p_alive: f64,
    pub expected_purchases: f64,
    /// Per transaction (Gamma-Gamma; the customer's own mean when it cannot be fitted).
    pub expected_spend: Option<MoneyDto>,
    /// Expected purchases × expected spend over the horizon, undiscounted.
    pub predicted_value: Option<MoneyDto>,
    /// What the customer has spent up to the end of calibration, net of returns.
    pub historical_value: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClvCustomersView {
    #[schema(value_type = String, format = Date)]
    pub calibration_end: jiff::civil::Date,
    pub horizon_days: u32,
    pub order: String,
    pub customers: Vec<CustomerClvView>,
}

/// Per-customer predictions: probability alive, expected purchases and value over the
/// horizon; `order=churn_risk` lists repeat buyers least likely to be alive first.
#[utoipa::path(get, path = "/api/v1/analytics/clv/customers", tag = "analytics",
    params(ClvQuery), responses((status = 200, body = ClvCustomersView), (status = 422)),
    security(("api_key" = ["analytics.read"])))]
pub async fn clv_customers(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ClvQuery>,
) -> ApiResult<axum::Json<ClvCustomersView>> {
    Ok(axum::Json(
        clv_customers_report(&report_ctx(&state, &auth), &q).await?,
    ))
}

/// Per-customer CLV predictions of a program.
pub async fn clv_customers_report(
    rc: &ReportCtx<'_>,
    q: &ClvQuery,
) -> Result<ClvCustomersView, ApiError> {
    let order = q.order.clone().unwrap_or_else(|| "value".into());
    if order != "value" && order != "churn_risk" {
        return Err(ApiError::field("order", "must be value or churn_risk"));
    }
    let horizon_days = q.horizon_days.unwrap_or(365);
    if !(1..=3650).contains(&horizon_days) {
        return Err(ApiError::field(
            "horizon_days",
            "must be between 1 and 3650",
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let f = fit(rc, q).await?;
    let horizon = match f.unit {
        TimeUnit::Day => f64::from(horizon_days),
        TimeUnit::Week => f64::from(horizon_days) / 7.0,
    };
    let m = f.bgnbd.params;
    let mut rows: Vec<(CustomerClvView, f64)> = f
        .inputs
        .iter()
        .filter(|c| order == "value" || c.summary.frequency > 0.0)
        .map(|c| {
            let p_alive = m.p_alive(&c.summary);
            let expected = m.expected_purchases(&c.summary, horizon);
            let spend = match (&f.gg, c.repeat_spend) {
                (Some(g), Some(s)) => Some(g.params.expected_spend(c.summary.frequency, s)),
                (Some(g), None) => g.params.population_mean(),
                (None, s) => s,
            };
            let value = spend.map(|s| s * expected);
            let key = if order == "value" {
                -value.unwrap_or(0.0)
            } else {
                p_alive
            };
            (
                CustomerClvView {
                    customer_id: c.customer_id.clone(),
                    frequency: c.summary.frequency,
                    recency: c.summary.recency,
                    age: c.summary.age,
                    p_alive,
                    expected_purchases: expected,
                    expected_spend: spend.map(|s| MoneyDto::of(s.round() as i64, f.currency)),
                    predicted_value: value.map(|v| MoneyDto::of(v.round() as i64, f.currency)),
                    historical_value: MoneyDto::of(c.total_spend, f.currency),
                },
                key,
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        a.1.total_cmp(&b.1)
            .then(a.0.customer_id.cmp(&b.0.customer_id))
    });
    rows.truncate(limit as usize);
    Ok(ClvCustomersView {
        calibration_end: f.calibration_end,
        horizon_days,
        order,
        customers: rows.into_iter().map(|r| r.0).collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RfmQuery {
    /// The local date recency is measured at, the window's last day (default today).
    #[param(value_type = Option<String>, example = "2026-11-01", pattern = r"^[0-9۰-۹٠-٩]{4}[-/][0-9۰-۹٠-٩]{1,2}[-/][0-9۰-۹٠-٩]{1,2}$")]
    #[serde(default, deserialize_with = "calendar_day")]
    pub as_of: Option<jiff::civil::Date>,
    /// The window in days, ending on `as_of` (default 365).
    #[param(minimum = 1, maximum = 3650)]
    pub window_days: Option<u32>,
    /// List this segment's members (e.g. `at_risk`), best monetary first.
    pub segment: Option<String>,
    /// How many members (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfmSegmentView {
    pub segment: String,
    pub customers: usize,
    pub customers_percent: f64,
    pub revenue: MoneyDto,
    pub revenue_percent: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfmMemberView {
    pub customer_id: String,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: String,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfmView {
    #[schema(value_type = String, format = Date)]
    pub as_of: jiff::civil::Date,
    pub window_days: u32,
    /// Customers with a purchase in the window.
    pub customers: usize,
    /// All eleven segments, in a fixed order.
    pub segments: Vec<RfmSegmentView>,
    /// Customers per cell: rows R = 5 … 1, columns FM = 1 … 5.
    pub grid: Vec<Vec<usize>>,
    /// Members of `segment`, when asked.
    pub members: Vec<RfmMemberView>,
}

/// RFM over a window: quintile scores, the eleven named segments with their customers
/// and revenue, the R × FM grid, and optionally one segment's members.
#[utoipa::path(get, path = "/api/v1/analytics/rfm", tag = "analytics",
    params(RfmQuery), responses((status = 200, body = RfmView), (status = 422)),
    security(("api_key" = ["analytics.read"])))]
pub async fn rfm_view(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<RfmQuery>,
) -> ApiResult<axum::Json<RfmView>> {
    Ok(axum::Json(
        rfm_report(&report_ctx(&state, &auth), &q).await?,
    ))
}

/// The RFM figures of a program.
pub async fn rfm_report(rc: &ReportCtx<'_>, q: &RfmQuery) -> Result<RfmView, ApiError> {
    use vafa_core::analytics::rfm::{rfm, RfmInput, RfmSegment};
    let (tz, currency) = rc.program().await?;
    let as_of = q
        .as_of
        .unwrap_or_else(|| rc.now.to_zoned(tz.clone()).date());
    let window_days = q.window_days.unwrap_or(365);
    if !(1..=3650).contains(&window_days) {
        return Err(ApiError::field("window_days", "must be between 1 and 3650"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let wanted = match &q.segment {
        None => None,
        Some(name) => Some(
            RfmSegment::ALL
                .into_iter()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| ApiError::field("segment", "not one of the eleven RFM segments"))?,
        ),
    };
    let first_day = as_of
        .checked_sub(jiff::Span::new().days(i64::from(window_days) - 1))
        .map_err(|_| ApiError::field("window_days", "out of range"))?;
    let start = first_day
        .to_zoned(tz.clone())
        .map_err(|_| ApiError::field("as_of", "out of range"))?
        .timestamp();
    let aggs = rc
        .store
        .customer_aggregates(rc.program_id, start, end_of(as_of, &tz, "as_of")?)
        .await?;
    let today = day_index(as_of);
    let inputs: Vec<RfmInput> = aggs
        .into_iter()
        .map(|a| RfmInput {
            recency_days: today - day_index(tz.to_datetime(a.last_at).date()),
            customer_id: a.customer_id,
            frequency: a.purchases,
            monetary_minor: a.net_minor,
        })
        .collect();
    let scores = rfm(&inputs);
    let n = scores.len();
    let total: i128 = inputs.iter().map(|i| i128::from(i.monetary_minor)).sum();
    let mut grid = vec![vec![0usize; 5]; 5];
    let mut per: std::collections::HashMap<RfmSegment, (usize, i128)> = Default::default();
    for (s, i) in scores.iter().zip(&inputs) {
        grid[usize::from(5 - s.r)][usize::from(s.fm - 1)] += 1;
        let e = per.entry(s.segment).or_insert((0, 0));
        e.0 += 1;
        e.1 += i128::from(i.monetary_minor);
    }
    let pct = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a * 100.0 / b };
    let segments = RfmSegment::ALL
        .into_iter()
        .map(|seg| {
            let (c, r) = per.get(&seg).copied().unwrap_or((0, 0));
            RfmSegmentView {
                segment: seg.as_str().to_owned(),
                customers: c,
                customers_percent: pct(c as f64, n as f64),
                revenue: MoneyDto::of(i64::try_from(r).unwrap_or(i64::MAX), currency),
                revenue_percent: pct(r as f64, total as f64),
            }
        })
        .collect();
    let mut chosen: Vec<(&vafa_core::analytics::rfm::RfmScore, &RfmInput)> = scores
        .iter()
        .zip(&inputs)
        .filter(|(s, _)| Some(s.segment) == wanted)
        .collect();
    chosen.sort_by(|a, b| {
        b.1.monetary_minor
            .cmp(&a.1.monetary_minor)
            .then(a.1.customer_id.cmp(&b.1.customer_id))
    });
    let mut members: Vec<RfmMemberView> = chosen
        .into_iter()
        .map(|(s, i)| RfmMemberView {
            customer_id: i.customer_id.clone(),
            r: s.r,
            f: s.f,
            m: s.m,
            segment: s.segment.as_str().to_owned(),
            recency_days: i.recency_days,
            frequency: i.frequency,
            monetary: MoneyDto::of(i.monetary_minor, currency),
        })
        .collect();
    members.truncate(limit as usize);
    Ok(RfmView {
        as_of,
        window_days,
        customers: n,
        segments,
        grid,
        members,
    })
}

/// Month index (year × 12 + month − 1) of a local date in the program's calendar, and
/// its label (`1405-09` or `2026-11`).
pub fn month_of(d: jiff::civil::Date, jalali: bool) -> i64 {
    if jalali {
        let j = vafa_core::date::to_jalali(d);
        i64::from(j.year) * 12 + i64::from(j.month) - 1
    } else {
        i64::from(d.year()) * 12 + i64::from(d.month()) - 1
    }
}

fn month_label(m: i64) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// Every sale before the end of local date `to`, as days and months.
async fn sales(
    rc: &ReportCtx<'_>,
    tz: &jiff::tz::TimeZone,
    to: jiff::civil::Date,
    jalali: bool,
) -> Result<Vec<vafa_core::analytics::kpi::Sale>, ApiError> {
    let rows = rc
        .store
        .purchase_rows(rc.program_id, end_of(to, tz, "to")?)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let d = r.occurred_at.to_zoned(tz.clone()).date();
            vafa_core::analytics::kpi::Sale {
                customer_id: r.customer_id,
                day: day_index(d),
                month: month_of(d, jalali),
                net_minor: r.net_minor,
            }
        })
        .collect())
}

async fn is_jalali(rc: &ReportCtx<'_>) -> Result<bool, ApiError> {
    let p = rc
        .store
        .get_program(rc.program_id)
        .await?
        .ok_or_else(|| ApiError::not_found("program"))?;
    Ok(p.locale == vafa_core::program::Locale::Fa)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointsKpisView {
    /// In the period: issued by purchases, events, tiers and care (net of return
    /// reversals), redeemed, expired; granted (net) by staff adjustments and imported
    /// opening balances; forfeited by erasures. Issued + adjusted − redeemed − expired −
    /// forfeited is what the period added to the customers' points.
    pub issued: i64,
    pub redeemed: i64,
    pub expired: i64,
    pub adjusted: i64,
    pub forfeited: i64,
    /// Since the start: expired ÷ granted and redeemed ÷ granted, in percent, where
    /// granted is issued plus adjusted.
    pub breakage_rate: f64,
    pub redemption_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiabilityBucketView {
    /// `30_days`, `90_days`, `365_days`, `later`, `never`.
    pub expires: String,
    pub points: i64,
    /// At the program's point value.
    pub value: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpisView {
    #[schema(value_type = String, format = Date)]
    pub from: jiff::civil::Date,
    #[schema(value_type = String, format = Date)]
    pub to: jiff::civil::Date,
    pub active_customers: i64,
    pub new_customers: i64,
    pub returning_customers: i64,
    pub purchases: i64,
    pub revenue: MoneyDto,
    pub repeat_purchase_rate: f64,
    pub purchase_frequency: f64,
    pub average_order_value: MoneyDto,
    pub average_order_value_new: MoneyDto,
    pub average_order_value_returning: MoneyDto,
    /// Active customers of the previous period of the same length, and the percent of
    /// them who bought again in this one.
    pub previous_active_customers: i64,
    pub retention_rate: f64,
    pub churn_rate: f64,
    /// Active customers as a percent of all active members at the period's end.
    pub active_member_percent: f64,
    pub points: PointsKpisView,
    /// Points outstanding now, by when they expire.
    pub liability: Vec<LiabilityBucketView>,
    pub liability_total: MoneyDto,
}

/// Loyalty KPIs over local dates `from..=to` (default the last 30 days): customers
/// active, new and returning, repeat rate, frequency, average order value, retention and
/// churn against the previous period, and the program's points figures and liability.
#[utoipa::path(get, path = "/api/v1/analytics/kpis", tag = "analytics",
    params(PeriodQuery), responses((status = 200, body = KpisView), (status = 422)),
    security(("api_key" = ["analytics.read"])))]
pub async fn kpis_view(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<axum::Json<KpisView>> {
    Ok(axum::Json(
        kpis_report(&report_ctx(&state, &auth), &q).await?,
    ))
}

/// The KPI figures of a program.
pub async fn kpis_report(rc: &ReportCtx<'_>, q: &PeriodQuery) -> Result<KpisView, ApiError> {
    let all = program_sales(rc, q.to).await?;
    kpis_of_sales(rc, q, &all).await
}

/// Every sale of the program through the end of local date `to` (default today), by day
/// and by month of the program's calendar (`month_of`).
pub async fn program_sales(
    rc: &ReportCtx<'_>,
    to: Option<jiff::civil::Date>,
) -> Result<Vec<vafa_core::analytics::kpi::Sale>, ApiError> {
    let (tz, _) = rc.program().await?;
    let to = to.unwrap_or_else(|| rc.now.to_zoned(tz.clone()).date());
    let jalali = is_jalali(rc).await?;
    sales(rc, &tz, to, jalali).await
}

/// The KPI figures from `all`, the sales `program_sales` read through the end of `q.to`:
/// for a caller that needs the sales for more than the KPIs (the dashboard).
pub async fn kpis_of_sales(
    rc: &ReportCtx<'_>,
    q: &PeriodQuery,
    all: &[vafa_core::analytics::kpi::Sale],
) -> Result<KpisView, ApiError> {
    let (tz, currency) = rc.program().await?;
    let to = q.to.unwrap_or_else(|| rc.now.to_zoned(tz.clone()).date());
    let from = match q.from {
        Some(f) => f,
        None => to
            .checked_sub(jiff::Span::new().days(29))
            .map_err(|_| ApiError::field("to", "out of range"))?,
    };
    if from > to {
        return Err(ApiError::field("from", "must not be after to"));
    }
    let k = vafa_core::analytics::kpi::period_kpis(all, day_index(from), day_index(to));
    let start = from
        .to_zoned(tz.clone())
        .map_err(|_| ApiError::field("from", "out of range"))?
        .timestamp();
    let end = end_of(to, &tz, "to")?;
    let flows = rc.store.points_flows(rc.program_id, start, end).await?;
    let lifetime = rc
        .store
        .points_flows(rc.program_id, jiff::Timestamp::UNIX_EPOCH, end)
        .await?;
    let liability = rc.store.liability(rc.program_id, rc.now).await?;
    let members = rc.store.active_members(rc.program_id, end).await?;
    let settings = rc.store.ledger_settings(rc.program_id).await?;
    let pct = |a: i64, b: i64| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    let buckets = [
        ("30_days", liability.within_30_days),
        ("90_days", liability.within_90_days),
        ("365_days", liability.within_365_days),
        ("later", liability.later),
        ("never", liability.never),
    ];
    let total_points: i64 = buckets.iter().map(|b| b.1).sum();
    // Opening balances come in as adjustments: a rate over issued alone could pass 100%.
    let granted = lifetime.issued.saturating_add(lifetime.adjusted.max(0));
    let money = |m: i64| MoneyDto::of(m, currency);
    Ok(KpisView {
        from,
        to,
        active_customers: k.active_customers,
        new_customers: k.new_customers,
        returning_customers: k.returning_customers,
        purchases: k.purchases,
        revenue: money(k.revenue_minor),
        repeat_purchase_rate: k.repeat_purchase_rate,
        purchase_frequency: k.purchase_frequency,
        average_order_value: money(k.aov_minor),
        average_order_value_new: money(k.aov_new_minor),
        average_order_value_returning: money(k.aov_returning_minor),
        previous_active_customers: k.previous_active_customers,
        retention_rate: k.retention_rate,
        churn_rate: k.churn_rate,
        active_member_percent: pct(k.active_customers, members),
        points: PointsKpisView {
            issued: flows.issued,
            redeemed: flows.redeemed,
            expired: flows.expired,
            adjusted: flows.adjusted,
            forfeited: flows.forfeited,
            breakage_rate: pct(lifetime.expired, granted),
            redemption_rate: pct(lifetime.redeemed, granted),
        },
        liability: buckets
            .iter()
            .map(|(name, points)| LiabilityBucketView {
                expires: (*name).to_owned(),
                points: *points,
                value: money(settings.points_value_minor(*points)),
            })
            .collect(),
        liability_total: money(settings.points_value_minor(total_points)),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CohortQuery {
    /// The last day counted (default today); its month is the last shown.
    #[param(value_type = Option<String>, example = "2026-11-01", pattern = r"^[0-9۰-۹٠-٩]{4}[-/][0-9۰-۹٠-٩]{1,2}[-/][0-9۰-۹٠-٩]{1,2}$")]
    #[serde(default, deserialize_with = "calendar_day")]
    pub to: Option<jiff::civil::Date>,
    /// How many monthly cohorts (default 12, at most 60).
    #[param(minimum = 1, maximum = 60)]
    pub months: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortView {
    /// `1405-09` (Jalali, for a `fa` program) or `2026-11`.
    pub month: String,
    pub customers: i64,
    /// Percent of the cohort buying in its first month (100), the next, and so on.
    pub retention: Vec<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortsView {
    /// `jalali` or `gregorian`.
    pub calendar: String,
    pub cohorts: Vec<CohortView>,
}

/// Monthly retention cohorts: customers grouped by the month of their first purchase,
/// and the share of each cohort buying in every later month.
#[utoipa::path(get, path = "/api/v1/analytics/cohorts", tag = "analytics",
    params(CohortQuery), responses((status = 200, body = CohortsView), (status = 422)),
    security(("api_key" = ["analytics.read"])))]
pub async fn cohorts_view(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<CohortQuery>,
) -> ApiResult<axum::Json<CohortsView>> {
    Ok(axum::Json(
        cohorts_report(&report_ctx(&state, &auth), &q).await?,
    ))
}

/// The cohort figures of a program.
pub async fn cohorts_report(rc: &ReportCtx<'_>, q: &CohortQuery) -> Result<CohortsView, ApiError> {
    let (tz, _) = rc.program().await?;
    let months = q.months.unwrap_or(12);
    if !(1..=60).contains(&months) {
        return Err(ApiError::field("months", "must be between 1 and 60"));
    }
    let jalali = is_jalali(rc).await?;
    let to = q.to.unwrap_or_else(|| rc.now.to_zoned(tz.clone()).date());
    // Sales up to the end of the last month shown.
    let last = month_of(to, jalali);
    let all = sales(rc, &tz, to, jalali).await?;
    let list = vafa_core::analytics::kpi::cohorts(&all, last - i64::from(months) + 1, last);
    Ok(CohortsView {
        calendar: if jalali { "jalali" } else { "gregorian" }.to_owned(),
        cohorts: list
            .into_iter()
            .map(|c| CohortView {
                month: month_label(c.month),
                customers: c.customers,
                retention: c.retention,
            })
            .collect(),
    })
}
