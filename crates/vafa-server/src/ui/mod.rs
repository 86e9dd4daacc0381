//! The admin web UI, served by `vafa serve` at `/`: Persian first (right to left,
//! Jalali dates, Persian digits, toman or rial) with English beside it, server-rendered
//! with askama templates and a little htmx for the parts that change in place (the
//! cashier's search and quote, a segment's live count, the CEL check). Every asset is
//! in the binary; nothing is fetched from outside.
//!
//! Staff sign in with their password into an HttpOnly, SameSite=Strict session cookie;
//! every form and htmx request carries the session's CSRF token, checked before
//! anything else. Pages call the same handlers as the JSON API, after checking the same
//! permission the API route needs, so the UI can neither do more than a role may nor
//! compute anything differently.

mod cashier;
mod charts;
mod crm;
mod customer;
mod dashboard;
mod form;
pub mod i18n;
mod login;
mod period;
mod problems;
mod purchase;
mod segments;
mod settings;
mod settings_rules;
mod settings_tiers;

pub use problems::problem_lines;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
pub use form::{Posted, Typed};
pub use i18n::{Lang, View};
use std::collections::HashMap;
use vafa_core::auth::{Permission, Role};
use vafa_store::{Principal, Program, StaffMember};

pub const SESSION_COOKIE: &str = "vafa_session";
pub const LANG_COOKIE: &str = "vafa_lang";

const CSS: &str = include_str!("../../ui/ui.css");
const HTMX: &str = include_str!("../../ui/htmx-2.0.11.min.js");
const APP_JS: &str = include_str!("../../ui/app.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui.css", get(|| asset("text/css; charset=utf-8", CSS)))
        .route(
            "/assets/htmx-2.0.11.min.js",
            get(|| asset("text/javascript; charset=utf-8", HTMX)),
        )
        .route(
            "/assets/app.js",
            get(|| asset("text/javascript; charset=utf-8", APP_JS)),
        )
        .route("/", get(home))
        .merge(login::routes())
        .merge(dashboard::routes())
        .merge(cashier::routes())
        .merge(customer::routes())
        .merge(purchase::routes())
        .merge(crm::routes())
        .merge(settings::routes())
        .merge(segments::routes())
        .layer(axum::middleware::from_fn(security_headers))
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Every UI answer: no outside origin for anything, no framing, nothing cached that
/// belongs to a session.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

pub(crate) fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The language before anyone signs in: the cookie, else Persian.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    cookies(headers)
        .get(LANG_COOKIE)
        .and_then(|c| Lang::parse(c))
        .unwrap_or(Lang::Fa)
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

/// A signed-in staff member on a UI page: who they are, their program, how they read.
#[derive(Clone)]
pub struct Ui {
    pub principal: Principal,
    pub staff: StaffMember,
    pub program: Program,
    pub v: View,
    pub csrf: String,
    pub path: String,
    /// The request came from htmx: answer a fragment, and redirect with `HX-Redirect`.
    pub htmx: bool,
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let htmx = parts.headers.contains_key("hx-request");
        let to_login = || {
            if htmx {
                ([("hx-redirect", "/login")], StatusCode::UNAUTHORIZED).into_response()
            } else {
                Redirect::to("/login").into_response()
            }
        };
        let Some(token) = cookies(&parts.headers).remove(SESSION_COOKIE) else {
            return Err(to_login());
        };
        let now = state.clock.now();
        let unavailable = |e: vafa_store::StoreError| {
            tracing::warn!(error = %e, "UI session check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable").into_response()
        };
        let principal = match state.store.authenticate(&token, now).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(to_login()),
            Err(e) => return Err(unavailable(e)),
        };
        // API keys do not sign in to the UI: a person has a name and a password.
        let Some(staff_id) = principal.staff_id.clone() else {
            return Err(to_login());
        };
        let (staff, program, display, csrf) = tokio::try_join!(
            state.store.get_staff(&principal.program_id, &staff_id),
            state.store.get_program(&principal.program_id),
            state.store.display_settings(&principal.program_id),
            state.store.session_csrf(&token, now),
        )
        .map_err(unavailable)?;
        let (Some(staff), Some(program), Some(csrf)) = (staff, program, csrf) else {
            return Err(to_login());
        };
        let lang = match staff.locale {
            Some(vafa_core::program::Locale::En) => Lang::En,
            Some(vafa_core::program::Locale::Fa) => Lang::Fa,
            None => match program.locale {
                vafa_core::program::Locale::En => Lang::En,
                vafa_core::program::Locale::Fa => Lang::Fa,
            },
        };
        let v = View {
            lang,
            currency: program.currency,
            unit: display.money_unit,
            calendar: display.calendar_for(program.locale),
            tz: jiff::tz::TimeZone::get(&program.timezone).unwrap_or(jiff::tz::TimeZone::UTC),
        };
        Ok(Ui {
            principal,
            staff,
            program,
            v,
            csrf,
            path: parts.uri.path().to_owned(),
            htmx,
        })
    }
}

/// One entry of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub active: bool,
}

/// What every page's frame shows: the language, the navigation the role may use, who
/// is signed in, the CSRF token for forms.
pub struct Chrome {
    pub v: View,
    pub title: String,
    pub program: String,
    pub nav: Vec<NavItem>,
    pub staff_name: String,
    pub role: String,
    pub csrf: String,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
}

/// The pages, the permission each needs, in the navigation's order.
const PAGES: [(&str, &str, Permission); 6] = [
    ("/dashboard", "nav_dashboard", Permission::AnalyticsRead),
    ("/cashier", "nav_cashier", Permission::PurchasesWrite),
    ("/customers", "nav_customers", Permission::CustomersRead),
    ("/crm", "nav_crm", Permission::CrmRead),
    ("/segments", "nav_segments", Permission::AnalyticsRead),
    ("/settings", "nav_settings", Permission::ProgramManage),
];

impl Ui {
    pub fn can(&self, p: Permission) -> bool {
        self.principal.role.allows(p)
    }

    pub fn require(&self, p: Permission) -> Result<(), UiError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(UiError::Forbidden)
        }
    }

    /// Check the permission of the API route a page acts through, from the same table
    /// the API enforces.
    pub fn require_route(
        &self,
        state: &AppState,
        method: Method,
        path: &str,
    ) -> Result<(), UiError> {
        match state.permissions.get(&method, path) {
            Some(p) => self.require(p),
            None => Err(UiError::Api(ApiError::internal(
                "UI action through an unknown API route",
                path,
            ))),
        }
    }

    pub fn auth(&self) -> Auth {
        Auth(self.principal.clone())
    }

    pub fn role(&self) -> Role {
        self.principal.role
    }

    pub fn chrome(&self, title_key: &str) -> Chrome {
        let (other_lang, other_lang_name) = match self.v.lang {
            Lang::Fa => ("en", "English"),
            Lang::En => ("fa", "فارسی"),
        };
        Chrome {
            title: self.v.t(title_key),
            program: self.program.name.clone(),
            nav: PAGES
                .iter()
                .filter(|(_, _, p)| self.can(*p))
                .map(|(href, key, _)| NavItem {
                    href,
                    label: self.v.t(key),
                    active: self.path.starts_with(href),
                })
                .collect(),
            staff_name: self.staff.name.clone(),
            role: self.v.t(&format!("role_{}", self.principal.role.as_str())),
            csrf: self.csrf.clone(),
            other_lang,
            other_lang_name,
            v: self.v.clone(),
        }
    }
}

/// Where a role starts: the first page it may see — customer care's own work (the CRM)
/// before the customer list it shares with everyone.
async fn home(ui: Ui) -> Response {
    let care = ui.can(Permission::CrmRead) && ui.can(Permission::TicketsGoodwill);
    let first = PAGES
        .iter()
        .filter(|(href, _, _)| !(care && *href == "/customers"))
        .find(|(_, _, p)| ui.can(*p))
        .map_or("/customers", |(href, _, _)| *href);
    Redirect::to(first).into_response()
}

/// A UI failure: a page the role may not see, or an API error to show.
pub enum UiError {
    Forbidden,
    NotFound,
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        match e.code {
            ErrorCode::Forbidden => UiError::Forbidden,
            _ => UiError::Api(e),
        }
    }
}

impl From<vafa_store::StoreError> for UiError {
    fn from(e: vafa_store::StoreError) -> Self {
        UiError::from(ApiError::from(e))
    }
}

#[derive(Template)]
#[template(path = "partials/problem.html")]
pub struct ProblemBox {
    pub lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Chrome,
    message: String,
}

impl UiError {
    /// The answer for `ui`'s request: a fragment for htmx, a page otherwise.
    pub fn respond(self, ui: &Ui) -> Response {
        let (status, lines) = match &self {
            UiError::Forbidden => (StatusCode::FORBIDDEN, vec![ui.v.t("no_access")]),
            UiError::NotFound => (StatusCode::NOT_FOUND, vec![ui.v.t("not_found")]),
            UiError::Api(e) => {
                if e.code == ErrorCode::InternalError {
                    tracing::warn!(detail = %e.detail, "UI request failed");
                }
                (e.code.status(), problem_lines(&ui.v, e))
            }
        };
        if ui.htmx {
            // htmx swaps only 2xx answers by default: a problem is shown where the
            // answer would go, with its status in a header for tests and logs.
            let mut r = render(&ProblemBox { lines });
            if let Ok(v) = HeaderValue::from_str(status.as_str()) {
                r.headers_mut().insert("vafa-status", v);
            }
            return r;
        }
        let page = MessagePage {
            c: ui.chrome("error_title"),
            message: lines.join(" — "),
        };
        (status, render(&page)).into_response()
    }
}

/// The program's tier names by code, as this reader knows them (the English name in
/// English when the ladder has one).
pub async fn tier_names(state: &AppState, ui: &Ui) -> Result<HashMap<String, String>, UiError> {
    let ladder = state.store.tier_ladder(&ui.principal.program_id).await?;
    Ok(ladder
        .map(|l| {
            l.tiers
                .into_iter()
                .map(|t| {
                    let name = match (ui.v.lang, t.name_en) {
                        (Lang::En, Some(en)) => en,
                        _ => t.name,
                    };
                    (t.code, name)
                })
                .collect()
        })
        .unwrap_or_default())
}

/// A tier's name from [`tier_names`], or its code when the ladder no longer has it.
pub fn tier_name_of(names: &HashMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

/// An API input from the JSON a page builds, parsed exactly as the API parses a body
/// (unknown fields, types and field paths included).
pub fn input<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, UiError> {
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::internal("UI request body", e))?;
    Ok(crate::extract::parse_json(&bytes)?)
}

/// A Latin identifier (a code, a pattern, an SKU) isolated left to right, so it reads
/// the same inside Persian text (`TAJRISH-####-####`, not `####-####-TAJRISH`).
pub fn ltr(s: &str) -> String {
    format!("\u{2066}{s}\u{2069}")
}

/// Money as the API takes it, from minor units.
pub fn money_json(v: &View, minor: i64) -> serde_json::Value {
    serde_json::to_value(crate::api::money::MoneyDto::of(minor, v.currency)).unwrap_or_default()
}

/// Render a template into an HTML answer (a template error is a bug: logged, 500).
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template failed").into_response()
        }
    }
}

/// A page handler's result: a page, or an error shown as a page or fragment.
pub type UiResult = Result<Response, UiError>;

/// Run a page body and answer its error the way the request expects.
pub fn answer(ui: &Ui, r: UiResult) -> Response {
    match r {
        Ok(res) => res,
        Err(e) => e.respond(ui),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    /// Every translated key a template or UI module asks for is in both translation files, and
    /// the two files have the same keys.
    #[test]
    fn every_string_is_translated_in_both_languages() {
        let mut tables = Vec::new();
        for (lang, json) in super::i18n::tables() {
            let m: std::collections::HashMap<String, String> = serde_json::from_str(json).unwrap();
            tables.push((lang, m.into_keys().collect::<BTreeSet<_>>()));
        }
        assert_eq!(
            tables[0].1, tables[1].1,
            "fa.json and en.json differ in keys"
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used = BTreeSet::new();
        let mut files = Vec::new();
        for dir in ["templates", "templates/partials", "src/ui"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if p.is_file() {
                    files.push(p);
                }
            }
        }
        for p in files {
            let text = std::fs::read_to_string(&p).unwrap();
            for pat in ["t(\"", "tf(\"", "with_unit(\""] {
                for (i, _) in text.match_indices(pat) {
                    // `t(` itself, not the end of `get(` or `checked(`.
                    let before = text[..i].chars().next_back();
                    if pat == "t(\"" && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let rest = &text[i + pat.len()..];
                    if let Some(end) = rest.find('"') {
                        used.insert(rest[..end].to_owned());
                    }
                }
            }
        }
        let missing: Vec<_> = used.difference(&tables[0].1).collect();
        assert!(missing.is_empty(), "not translated: {missing:?}");
    }

    /// The keys pages build from a value (`ticket_status_{status}`) exist for every value
    /// the value can take.
    #[test]
    fn every_dynamic_key_is_translated() {
        use vafa_core::crm::*;
        let mut keys: Vec<String> = Vec::new();
        let mut add = |prefix: &str, values: &mut dyn Iterator<Item = &str>| {
            keys.extend(values.map(|v| format!("{prefix}{v}")));
        };
        add(
            "ticket_status_",
            &mut TicketStatus::ALL.iter().map(|x| x.as_str()),
        );
        add(
            "priority_",
            &mut TicketPriority::ALL.iter().map(|x| x.as_str()),
        );
        add(
            "channel_",
            &mut TicketChannel::ALL.iter().map(|x| x.as_str()),
        );
        add(
            "interaction_",
            &mut InteractionKind::ALL.iter().map(|x| x.as_str()),
        );
        add("task_kind_", &mut TaskKind::ALL.iter().map(|x| x.as_str()));
        add(
            "task_status_",
            &mut TaskStatus::ALL.iter().map(|x| x.as_str()),
        );
        add(
            "role_",
            &mut vafa_core::auth::Role::ALL.iter().map(|x| x.as_str()),
        );
        add(
            "status_",
            &mut vafa_core::customer::CustomerStatus::ALL
                .iter()
                .map(|x| x.as_str()),
        );
        add(
            "gender_",
            &mut vafa_core::customer::Gender::ALL.iter().map(|x| x.as_str()),
        );
        add(
            "rfm_",
            &mut vafa_core::analytics::rfm::RfmSegment::ALL
                .iter()
                .map(|x| x.as_str()),
        );
        add("stage_", &mut ORDER_STAGES.iter().copied());
        add(
            "template_",
            &mut TEMPLATE_KEYS
                .iter()
                .copied()
                .filter(|k| !matches!(*k, "csat_request" | "task_reminder" | "order_stage")),
        );
        for s in [
            TicketStatus::InProgress,
            TicketStatus::WaitingOnCustomer,
            TicketStatus::Resolved,
            TicketStatus::Closed,
        ] {
            keys.push(format!("move_{}", s.as_str()));
        }
        for kind in ["opened", "reply", "note", "status", "assigned"] {
            keys.push(format!("ticket_{kind}"));
        }
        for kind in [
            "interaction",
            "purchase",
            "ledger",
            "ticket",
            "task",
            "task_closed",
            "feedback",
            "order",
            "gift",
            "coupon",
        ] {
            keys.push(format!("tl_{kind}"));
        }
        for s in ["issued", "used", "cancelled"] {
            keys.push(format!("gift_{s}"));
        }
        for s in ["issued", "used", "void"] {
            keys.push(format!("coupon_{s}"));
        }
        for kind in vafa_store::ENTRY_KINDS {
            keys.push(format!("entry_{kind}"));
        }
        for b in ["30_days", "90_days", "365_days", "later", "never"] {
            keys.push(format!("expires_{b}"));
        }
        for k in ["personal", "bearer"] {
            keys.push(format!("card_{k}"));
        }
        for s in ["active", "blocked", "replaced"] {
            keys.push(format!("card_status_{s}"));
        }
        for s in ["active", "retired"] {
            keys.push(format!("reward_status_{s}"));
        }
        for k in ["unique", "shared"] {
            keys.push(format!("batch_{k}"));
        }
        for s in [
            vafa_core::rules::CampaignStatus::Active,
            vafa_core::rules::CampaignStatus::Paused,
            vafa_core::rules::CampaignStatus::Archived,
        ] {
            keys.push(format!("campaign_{}", s.as_str()));
        }
        for m in 1..=12 {
            keys.push(format!("month_jalali_{m}"));
            keys.push(format!("month_gregorian_{m}"));
        }
        keys.extend(
            [
                "apimsg_too_long",
                "apimsg_between",
                "apimsg_at_most",
                "apimsg_return_max",
                "apimsg_cel_at",
                "apimsg_goodwill_max",
                "apimsg_goodwill_customer",
                "apimsg_points_cart_max",
                "apimsg_cashback_cart_max",
                "apimsg_whole_not_negative",
                "field_row",
            ]
            .map(String::from),
        );
        keys.push("apimsg_other".into());
        keys.extend(
            super::problems::API_MESSAGES
                .iter()
                .map(|(_, k)| (*k).to_owned()),
        );
        let fa: std::collections::HashMap<String, String> =
            serde_json::from_str(super::i18n::tables()[0].1).unwrap();
        let en: std::collections::HashMap<String, String> =
            serde_json::from_str(super::i18n::tables()[1].1).unwrap();
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| !fa.contains_key(*k) || !en.contains_key(*k))
            .collect();
        assert!(missing.is_empty(), "not translated: {missing:?}");
    }
}
