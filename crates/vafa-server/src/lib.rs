//! Vafa's HTTP API: axum routes under `/api/v1`, the OpenAPI document generated from
//! the handlers, API-key auth with per-route permissions, metrics, graceful shutdown.

pub mod api;
pub mod auth;
pub mod clock;
pub mod error;
pub mod export;
pub mod extract;
pub mod feedback_form;
pub mod import;
pub mod metrics;
mod openapi_problems;
pub mod outbox;
pub mod ui;

use crate::auth::RoutePermissions;
use crate::clock::Clock;
use crate::error::{ApiError, ErrorCode};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request};
use axum::response::IntoResponse;
use axum::Router;
use std::sync::Arc;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vafa_store::Store;

/// The largest request body the API reads. Bulk work (imports) has its own upload path.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub permissions: Arc<RoutePermissions>,
    pub metrics: Arc<metrics::Metrics>,
    pub openapi_json: Arc<str>,
    /// Failed sign-ins per username, to slow password guessing.
    pub logins: Arc<api::staff::LoginThrottle>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Vafa", description = "Customer loyalty and relationship engine. Errors are application/problem+json with a stable `code` (see docs/errors.md)."),
    modifiers(&BearerAuth),
    tags((name = "customers"), (name = "cards"), (name = "ledger"), (name = "program"), (name = "audit"), (name = "rules"), (name = "analytics"), (name = "segments"), (name = "tiers"), (name = "coupons"), (name = "rewards"), (name = "checkout"), (name = "data"), (name = "crm"), (name = "staff"), (name = "system"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            auth::SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key; the scope of each operation is the permission it needs (docs/permissions.md)."))
                    .build(),
            ),
        );
    }
}

/// Every route, declared once: the router and the OpenAPI document come from this list.
fn routes() -> OpenApiRouter<AppState> {
    use api::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::openapi))
        .routes(routes!(system::metrics))
        .routes(routes!(program::get))
        .routes(routes!(program::list_keys, program::create_key))
        .routes(routes!(program::revoke_key))
        .routes(routes!(customers::create, customers::list))
        .routes(routes!(customers::get, customers::update, customers::erase))
        .routes(routes!(customers::merge))
        .routes(routes!(customers::cards))
        .routes(routes!(cards::issue))
        .routes(routes!(cards::get))
        .routes(routes!(cards::bind))
        .routes(routes!(cards::block))
        .routes(routes!(cards::replace))
        .routes(routes!(audit::list))
        .routes(routes!(
            program::get_ledger_settings,
            program::put_ledger_settings
        ))
        .routes(routes!(
            program::get_display_settings,
            program::put_display_settings
        ))
        .routes(routes!(purchases::create))
        .routes(routes!(purchases::create_return))
        .routes(routes!(purchases::get))
        .routes(routes!(purchases::list_for_customer))
        .routes(routes!(points::balance))
        .routes(routes!(points::ledger))
        .routes(routes!(points::redeem))
        .routes(routes!(points::adjust))
        .routes(routes!(points::transfer))
        .routes(routes!(rules::create_campaign, rules::list_campaigns))
        .routes(routes!(rules::get_campaign, rules::update_campaign))
        .routes(routes!(rules::add_rule))
        .routes(routes!(
            rules::get_rule,
            rules::update_rule,
            rules::retire_rule
        ))
        .routes(routes!(rules::simulate))
        .routes(routes!(rules::backtest))
        .routes(routes!(rules::create_event))
        .routes(routes!(analytics::pareto_view))
        .routes(routes!(analytics::rfm_view))
        .routes(routes!(analytics::kpis_view))
        .routes(routes!(analytics::cohorts_view))
        .routes(routes!(segments::create, segments::list))
        .routes(routes!(segments::get))
        .routes(routes!(segments::preview))
        .routes(routes!(segments::members))
        .routes(routes!(segments::snapshot))
        .routes(routes!(segments::get_snapshot))
        .routes(routes!(analytics::clv_model))
        .routes(routes!(analytics::clv_customers))
        .routes(routes!(tiers::get_ladder, tiers::put_ladder))
        .routes(routes!(tiers::evaluate))
        .routes(routes!(tiers::customer_tier, tiers::override_tier))
        .routes(routes!(coupons::create_batch, coupons::list_batches))
        .routes(routes!(coupons::get_batch))
        .routes(routes!(coupons::batch_codes))
        .routes(routes!(coupons::check))
        .routes(routes!(coupons::redeem))
        .routes(routes!(rewards::create, rewards::list))
        .routes(routes!(rewards::get, rewards::retire))
        .routes(routes!(rewards::claim, rewards::claims))
        .routes(routes!(rewards::use_code))
        .routes(routes!(rewards::check_code))
        .routes(routes!(rewards::cancel))
        .routes(routes!(rewards::fulfilment))
        .routes(routes!(checkout::quote_view))
        .routes(routes!(data::import_csv))
        .routes(routes!(data::export))
        .routes(routes!(staff::login))
        .routes(routes!(staff::logout))
        .routes(routes!(staff::me))
        .routes(routes!(staff::create, staff::list))
        .routes(routes!(staff::update))
        .routes(routes!(staff::performance))
        .routes(routes!(crm::record_interaction, crm::list_interactions))
        .routes(routes!(crm::timeline))
        .routes(routes!(crm::create_task, crm::list_tasks))
        .routes(routes!(crm::get_task))
        .routes(routes!(crm::close_task))
        .routes(routes!(crm::open_ticket, crm::list_tickets))
        .routes(routes!(crm::get_ticket))
        .routes(routes!(crm::reply))
        .routes(routes!(crm::assign))
        .routes(routes!(crm::set_status))
        .routes(routes!(crm::record_feedback, crm::list_feedback))
        .routes(routes!(crm::create_order))
        .routes(routes!(crm::get_order))
        .routes(routes!(crm::customer_orders))
        .routes(routes!(crm::set_stage))
        .routes(routes!(crm::get_settings, crm::put_settings))
        .routes(routes!(crm::list_holidays))
        .routes(routes!(crm::put_holiday, crm::delete_holiday))
        .routes(routes!(crm::list_templates))
        .routes(routes!(crm::put_template))
        .routes(routes!(crm::create_webhook, crm::list_webhooks))
        .routes(routes!(crm::disable_webhook))
        .routes(routes!(crm::list_outbox))
        .routes(routes!(crm::retry_outbox))
}

/// The OpenAPI document, as served at `/openapi.json`: utoipa's, with the errors
/// (`openapi_problems`).
pub fn openapi() -> serde_json::Value {
    let mut doc = serde_json::to_value(routes().split_for_parts().1).unwrap_or_default();
    openapi_problems::document(&mut doc);
    doc
}

#[derive(Clone)]
struct RequestIds;

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&vafa_store::ids::new_id("req"))
            .ok()
            .map(RequestId::new)
    }
}

async fn not_found() -> axum::response::Response {
    ApiError::new(ErrorCode::NotFound, "no such route").into_response()
}

async fn method_not_allowed() -> axum::response::Response {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not take that method",
    )
    .into_response()
}

/// Build the application. Fails only if the route table is inconsistent (a programming
/// error caught by every test that starts a server).
pub fn app(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<Router, String> {
    let (router, doc) = routes().split_for_parts();
    let mut doc_json = serde_json::to_value(&doc).map_err(|e| e.to_string())?;
    openapi_problems::document(&mut doc_json);
    let permissions = RoutePermissions::from_openapi(&doc_json)?;
    let metrics = Arc::new(metrics::Metrics::new());
    let state = AppState {
        store,
        clock,
        permissions: Arc::new(permissions),
        metrics: metrics.clone(),
        openapi_json: Arc::from(doc_json.to_string()),
        logins: Arc::default(),
    };
    let router = router
        .merge(ui::routes())
        .merge(feedback_form::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::authorize))
        .route_layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::internal("handler panicked", "panic").into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RequestIds));
    Ok(router)
}

/// A NUL (`%00`) in a path id or query parameter: PostgreSQL's text cannot hold it and
/// SQLite's LIKE stops at it, so it is refused by name before any handler runs.
async fn refuse_nul_in_uri(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match extract::nul_in_uri(req.uri()) {
        Some(field) => ApiError::field(&field, extract::NUL_MESSAGE).into_response(),
        None => next.run(req).await,
    }
}

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// How often the background jobs look for work, and how much one pass may do.
pub const JOB_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
const EXPIRY_BATCH: u32 = 500;
const EXPIRY_MAX_BATCHES: u32 = 20;

/// Background jobs: post the expiry of lots. Balances never wait for this (they count
/// expired lots out at read time); the job makes the journal say so. Several server
/// processes may run it at once: each pass re-reads under row locks and is idempotent.
pub fn spawn_jobs(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(JOB_INTERVAL);
        let mut last_tiers = None;
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store
                .expire_lots("", clock.now(), EXPIRY_BATCH, EXPIRY_MAX_BATCHES)
                .await
            {
                Ok(run) if run.lots_expired > 0 || run.claims_expired > 0 => {
                    tracing::info!(
                        lots = run.lots_expired,
                        points = run.points_expired,
                        claims = run.claims_expired,
                        "expired points and unused reward claims"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "expiry job failed; will retry"),
            }
            if last_tiers.is_none_or(|t: std::time::Instant| t.elapsed() >= TIER_INTERVAL) {
                last_tiers = Some(std::time::Instant::now());
                evaluate_tiers(store.as_ref(), clock.now()).await;
            }
        }
    })
}

/// How often the outbox worker looks for due notifications.
pub const OUTBOX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// The outbox worker (see [`outbox`]): several server processes may run it at once;
/// each claims its messages under a lease.
pub fn spawn_outbox(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
    let worker = outbox::Worker::new(store, clock, outbox::Policy::default());
    tokio::spawn(worker.run(OUTBOX_INTERVAL))
}

/// How often the tier evaluation runs (downgrades after grace, upgrades a purchase
/// missed, such as after a ladder change).
pub const TIER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

async fn evaluate_tiers(store: &dyn Store, now: jiff::Timestamp) {
    let programs = match store.tier_programs().await {
        Ok(p) => p,
        Err(e) => return tracing::warn!(error = %e, "tier evaluation failed; will retry"),
    };
    for program_id in programs {
        let ctx = vafa_store::Ctx {
            program_id,
            actor: vafa_store::Actor::System,
            now,
        };
        match store.evaluate_tiers(&ctx).await {
            Ok(run) if run.upgraded + run.downgraded > 0 => tracing::info!(
                program = %ctx.program_id, upgraded = run.upgraded, downgraded = run.downgraded,
                in_grace = run.in_grace, "tiers evaluated"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(program = %ctx.program_id, error = %e, "tier evaluation failed; will retry")
            }
        }
    }
}
