//! The admin web UI's first page: a server-rendered dashboard, Persian first (right to
//! left, Jalali months, Persian digits, toman) with English beside it. No JavaScript and
//! no outside assets: charts are SVG drawn here.
//!
//! Until staff accounts exist (issue 6), a person signs in with an API key, kept in an
//! HttpOnly, SameSite=Strict cookie; every page re-checks it like the API does.

use crate::api::analytics::{
    kpis_of_sales, month_of, pareto_report, program_sales, PeriodQuery, ReportCtx,
};
use crate::AppState;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::LazyLock;
use vafa_core::auth::Permission;
use vafa_store::Principal;

const KEY_COOKIE: &str = "vafa_key";
const LANG_COOKIE: &str = "vafa_lang";

/// Every string the UI shows, per language (`ui/fa.json`, `ui/en.json`).
static STRINGS: LazyLock<HashMap<&'static str, HashMap<String, String>>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for (lang, json) in [
        ("fa", include_str!("../ui/fa.json")),
        ("en", include_str!("../ui/en.json")),
    ] {
        m.insert(lang, serde_json::from_str(json).unwrap_or_default());
    }
    m
});

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Fa,
    En,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Fa => "fa",
            Lang::En => "en",
        }
    }

    pub(crate) fn t(self, key: &str) -> String {
        STRINGS
            .get(self.code())
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// Digits of this language, with its thousands separator.
    // `is_multiple_of` is newer than our rust-version (1.86).
    #[allow(clippy::manual_is_multiple_of)]
    fn number(self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = if self == Lang::Fa { '٬' } else { ',' };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(sep);
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        self.digits(&out)
    }

    pub(crate) fn digits(self, s: &str) -> String {
        match self {
            Lang::Fa => vafa_core::digits::to_persian_digits(s),
            Lang::En => s.to_owned(),
        }
    }

    fn percent(self, p: f64) -> String {
        let s = format!("{p:.1}");
        match self {
            Lang::Fa => format!("{}٪", self.digits(&s.replace('.', "٫"))),
            Lang::En => format!("{s}%"),
        }
    }

    /// Rials as millions of toman, one decimal: the unit of a revenue chart's bars.
    fn millions_of_toman(self, rials: i64) -> String {
        let s = format!("{:.1}", rials as f64 / 10_000_000.0);
        match self {
            Lang::Fa => self.digits(&s.replace('.', "٫")),
            Lang::En => s,
        }
    }

    /// Rials shown as toman, the unit people speak in.
    fn money(self, rials: i64) -> String {
        format!("{} {}", self.number(rials / 10), self.t("currency_irr"))
    }
}

fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn lang_of(headers: &HeaderMap) -> Lang {
    match cookies(headers).get(LANG_COOKIE).map(String::as_str) {
        Some("en") => Lang::En,
        _ => Lang::Fa,
    }
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/lang/{code}", get(set_lang))
        .route("/ui.css", get(css))
}

const CSS: &str = include_str!("../ui/ui.css");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

fn page(lang: Lang, title: &str, signed_in: bool, body: &str) -> Html<String> {
    let other = match lang {
        Lang::Fa => ("en", "English"),
        Lang::En => ("fa", "فارسی"),
    };
    let logout = if signed_in {
        format!(
            r#"<form method="post" action="/logout"><button type="submit">{}</button></form>"#,
            escape(&lang.t("sign_out"))
        )
    } else {
        String::new()
    };
    Html(format!(
        r#"<!doctype html>
<html lang="{code}" dir="{dir}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {app}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui.css"></head>
<body>
<header><strong>{app}</strong><nav><a href="/lang/{other_code}" lang="{other_code}">{other_name}</a>{logout}</nav></header>
<main>{body}</main>
</body></html>"#,
        code = lang.code(),
        dir = lang.t("dir"),
        title = escape(title),
        app = escape(&lang.t("app")),
        other_code = other.0,
        other_name = other.1,
    ))
}

async fn set_lang(
    axum::extract::Path(code): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let code = if code == "en" { "en" } else { "fa" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_owned()))
        })
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    (
        [(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={code}; Path=/; Max-Age=31536000; SameSite=Lax"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

async fn login_page(headers: HeaderMap) -> Html<String> {
    login_form(lang_of(&headers), None)
}

fn login_form(lang: Lang, error: Option<&str>) -> Html<String> {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    let body = format!(
        r#"<section class="login"><h1>{title}</h1><p>{help}</p>{error}
<form method="post" action="/login"><label for="api_key">{label}</label>
<input id="api_key" name="api_key" type="password" autocomplete="off" dir="ltr" required>
<button type="submit">{sign_in}</button></form></section>"#,
        title = escape(&lang.t("login_title")),
        help = escape(&lang.t("login_help")),
        label = escape(&lang.t("api_key")),
        sign_in = escape(&lang.t("sign_in")),
    );
    page(lang, &lang.t("login_title"), false, &body)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    api_key: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    let key = form.api_key.trim();
    match state.store.authenticate(key, state.clock.now()).await {
        Ok(Some(_)) if key.bytes().all(|b| b.is_ascii_graphic()) => (
            [(
                header::SET_COOKIE,
                format!("{KEY_COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict"),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        Ok(_) => (
            StatusCode::UNAUTHORIZED,
            login_form(lang, Some(&lang.t("bad_key"))),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "sign-in failed");
            (StatusCode::SERVICE_UNAVAILABLE, login_form(lang, Some("…"))).into_response()
        }
    }
}

async fn logout() -> Response {
    (
        [(
            header::SET_COOKIE,
            format!("{KEY_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

async fn principal(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let key = cookies(headers).remove(KEY_COOKIE)?;
    state
        .store
        .authenticate(&key, state.clock.now())
        .await
        .ok()
        .flatten()
}

async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let Some(p) = principal(&state, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    if !p.role.allows(Permission::AnalyticsRead) {
        let body = format!(r#"<p class="error">{}</p>"#, escape(&lang.t("no_access")));
        return (
            StatusCode::FORBIDDEN,
            page(lang, &lang.t("dashboard"), true, &body),
        )
            .into_response();
    }
    match dashboard_body(&state, &p, lang).await {
        Ok(body) => page(lang, &lang.t("dashboard"), true, &body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e.detail, "dashboard failed");
            (
                e.code.status(),
                page(
                    lang,
                    &lang.t("dashboard"),
                    true,
                    &format!("<p class=\"error\">{}</p>", escape(&e.detail)),
                ),
            )
                .into_response()
        }
    }
}

const JALALI_FA: [&str; 12] = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
];
const JALALI_EN: [&str; 12] = [
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
];
const GREGORIAN_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const GREGORIAN_FA: [&str; 12] = [
    "ژانویه",
    "فوریه",
    "مارس",
    "آوریل",
    "مه",
    "ژوئن",
    "ژوئیه",
    "اوت",
    "سپتامبر",
    "اکتبر",
    "نوامبر",
    "دسامبر",
];

async fn dashboard_body(
    state: &AppState,
    p: &Principal,
    lang: Lang,
) -> Result<String, crate::error::ApiError> {
    let store = state.store.as_ref();
    let now = state.clock.now();
    let program = store
        .get_program(&p.program_id)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("program"))?;
    let rc = ReportCtx {
        store,
        program_id: &p.program_id,
        now,
    };
    let none = PeriodQuery {
        from: None,
        to: None,
    };
    // One read of the sales serves the KPIs and the revenue by month.
    let sales = program_sales(&rc, None).await?;
    let k = kpis_of_sales(&rc, &none, &sales).await?;
    let pareto = pareto_report(&rc, &none).await?;
    let tz = jiff::tz::TimeZone::get(&program.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let jalali = program.locale == vafa_core::program::Locale::Fa;

    // Revenue of the last 12 months of the program's calendar, this one included.
    let this_month = month_of(now.to_zoned(tz).date(), jalali);
    let first = this_month - 11;
    let mut revenue = [0i64; 12];
    for s in sales.iter().filter(|s| s.month >= first) {
        revenue[(s.month - first) as usize] += s.net_minor;
    }
    let names = match (jalali, lang) {
        (true, Lang::Fa) => JALALI_FA,
        (true, Lang::En) => JALALI_EN,
        (false, Lang::Fa) => GREGORIAN_FA,
        (false, Lang::En) => GREGORIAN_EN,
    };
    let bars: Vec<(String, i64)> = (first..=this_month)
        .zip(revenue)
        .map(|(m, net)| (names[m.rem_euclid(12) as usize].to_owned(), net))
        .collect();

    let amount = |m: &crate::api::money::MoneyDto| m.amount.parse::<i64>().unwrap_or(0);
    let cards = [
        (lang.t("active_customers"), lang.number(k.active_customers)),
        (lang.t("new_customers"), lang.number(k.new_customers)),
        (lang.t("revenue"), lang.money(amount(&k.revenue))),
        (lang.t("repeat_rate"), lang.percent(k.repeat_purchase_rate)),
        (lang.t("aov"), lang.money(amount(&k.average_order_value))),
        (
            lang.t("active_members"),
            lang.percent(k.active_member_percent),
        ),
        (lang.t("liability"), lang.money(amount(&k.liability_total))),
    ];
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<h1>{name} <small>{dash} · {period}</small></h1><section class="cards">"#,
        name = escape(&program.name),
        dash = escape(&lang.t("dashboard")),
        period = escape(&lang.t("last_30_days")),
    );
    for (label, value) in &cards {
        let _ = write!(
            html,
            r#"<div class="card"><span>{}</span><b>{}</b></div>"#,
            escape(label),
            escape(value)
        );
    }
    html.push_str("</section>");
    let _ = write!(
        html,
        r#"<section class="chart"><h2>{}</h2>{}</section>"#,
        escape(&lang.t("revenue_by_month")),
        bar_chart(
            lang,
            &bars,
            |v| lang.money(v),
            |v| lang.millions_of_toman(v)
        )
    );
    let curve: Vec<(f64, f64)> = pareto
        .curve
        .iter()
        .map(|c| (f64::from(c.customers_percent), c.revenue_percent))
        .collect();
    let _ = write!(
        html,
        r#"<section class="chart"><h2>{}</h2>{}<p>{}</p></section>"#,
        escape(&lang.t("pareto")),
        pareto_chart(lang, &curve),
        escape(
            &lang
                .t("pareto_note")
                .replace("{top}", &lang.percent(pareto.top_20_revenue_percent))
        ),
    );
    let points = [
        (lang.t("issued"), k.points.issued),
        (lang.t("redeemed"), k.points.redeemed),
        (lang.t("expired"), k.points.expired),
    ];
    let _ = write!(
        html,
        r#"<section class="chart"><h2>{}</h2>{}</section>"#,
        escape(&lang.t("points_30")),
        bar_chart(lang, &points, |v| lang.number(v), |v| lang.number(v))
    );
    Ok(html)
}

/// Vertical bars with their labels under them and values on top, in SVG.
fn bar_chart(
    lang: Lang,
    bars: &[(String, i64)],
    show: impl Fn(i64) -> String,
    short: impl Fn(i64) -> String,
) -> String {
    let (w, h, pad) = (720.0, 260.0, 40.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (w - 2.0 * pad) / n;
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" class="bars" direction="ltr" xmlns="http://www.w3.org/2000/svg">"#
    );
    // In Persian the first month stands on the right, as the eye reads.
    for (i, (label, v)) in bars.iter().enumerate() {
        let slot_i = if lang == Lang::Fa {
            n - 1.0 - i as f64
        } else {
            i as f64
        };
        let x = pad + slot_i * slot + slot * 0.15;
        let bh = (*v as f64 / max) * (h - 2.0 * pad - 20.0);
        let y = h - pad - bh;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}"><title>{t}: {val}</title></rect><text x="{cx:.1}" y="{ly:.1}" class="label">{t}</text><text x="{cx:.1}" y="{vy:.1}" class="value">{short}</text>"#,
            bw = slot * 0.7,
            cx = x + slot * 0.35,
            ly = h - pad + 16.0,
            vy = y - 4.0,
            t = escape(label),
            val = escape(&show(*v)),
            short = escape(&short(*v)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The Pareto curve: share of customers (best first) against share of revenue.
fn pareto_chart(lang: Lang, curve: &[(f64, f64)]) -> String {
    let (w, h, pad) = (720.0, 300.0, 40.0);
    let x = |c: f64| {
        let c = if lang == Lang::Fa { 100.0 - c } else { c };
        pad + c / 100.0 * (w - 2.0 * pad)
    };
    let y = |r: f64| h - pad - r / 100.0 * (h - 2.0 * pad);
    let points: Vec<String> = curve
        .iter()
        .map(|(c, r)| format!("{:.1},{:.1}", x(*c), y(*r)))
        .collect();
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" class="pareto" xmlns="http://www.w3.org/2000/svg"><line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" class="diagonal"/><polyline points="{pts}"/>"#,
        x0 = x(0.0),
        y0 = y(0.0),
        x1 = x(100.0),
        y1 = y(100.0),
        pts = points.join(" "),
    );
    if let Some((_, r)) = curve.iter().find(|(c, _)| (*c - 20.0).abs() < 0.5) {
        let _ = write!(
            svg,
            r#"<line x1="{cx:.1}" y1="{yb:.1}" x2="{cx:.1}" y2="{cy:.1}" class="mark"/><circle cx="{cx:.1}" cy="{cy:.1}" r="5"/><text x="{cx:.1}" y="{ty:.1}" class="value">{label}</text>"#,
            cx = x(20.0),
            cy = y(*r),
            yb = y(0.0),
            ty = y(*r) - 10.0,
            label = escape(&lang.percent(*r)),
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{cx:.1}" y="{by:.1}" class="label">{c}</text><text x="{lx:.1}" y="{ly:.1}" class="label">{r}</text></svg>"#,
        cx = w / 2.0,
        by = h - 8.0,
        c = escape(&lang.t("customers_axis")),
        lx = if lang == Lang::Fa {
            w - pad + 4.0
        } else {
            pad - 4.0
        },
        ly = pad - 10.0,
        r = escape(&lang.t("revenue_axis")),
    );
    svg
}
