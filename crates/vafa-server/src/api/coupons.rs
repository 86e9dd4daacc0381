//! `/api/v1/coupon-batches`: batches of unique codes or one shared code, and their
//! codes as CSV; `/api/v1/coupons/check` and `/api/v1/coupons/redeem`: what a code gives
//! a cart, and using it once. See `docs/coupons.md`.

use crate::api::money::MoneyDto;
use crate::api::purchases::{program_currency, ItemInput};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Idempotent, Json};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::coupons::{normalize, validate_code, validate_pattern, CartLine, CouponRules};
use vafa_core::program::Currency;
use vafa_core::{validate, FieldErrors};
use vafa_store::{CouponBatch, CouponCart, CouponSource, CouponUse, NewCouponBatch};

/// Most codes one request may generate (the command line has no such limit).
pub const MAX_API_CODES: u32 = 100_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponBatchInput {
    pub name: String,
    /// Unique codes: a pattern, `#` for each random character (at least 6), e.g.
    /// `CAFE-####-####`; with `count`.
    pub pattern: Option<String>,
    pub count: Option<u32>,
    /// Or one shared public code, e.g. `YALDA1405`.
    pub code: Option<String>,
    /// What the coupon gives and when (amounts in minor units).
    #[schema(value_type = Object)]
    pub rules: CouponRules,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponBatchView {
    pub id: String,
    pub name: String,
    /// `unique` or `shared`.
    pub kind: String,
    pub pattern: Option<String>,
    #[schema(value_type = Object)]
    pub rules: CouponRules,
    pub requested: i64,
    pub generated: i64,
    /// `generating` or `ready`.
    pub status: String,
    pub used: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

impl From<CouponBatch> for CouponBatchView {
    fn from(b: CouponBatch) -> Self {
        CouponBatchView {
            id: b.id,
            name: b.name,
            kind: b.kind,
            pattern: b.pattern,
            rules: b.rules,
            requested: b.requested,
            generated: b.generated,
            status: b.status,
            used: b.used,
            created_at: b.created_at,
        }
    }
}

/// Parse a batch request: a name, exactly one of pattern (+ count) or code, and rules.
pub fn parse_batch(input: CouponBatchInput, max_codes: u32) -> Result<NewCouponBatch, ApiError> {
    let mut errs = FieldErrors::default();
    let name = errs
        .take("name", validate::short_text(&input.name, 100))
        .flatten();
    if name.is_none() && errs.is_empty() {
        errs.push("name", "must not be empty");
    }
    let source = match (input.pattern, input.count, input.code) {
        (Some(p), Some(count), None) => {
            let p = p.trim().to_owned();
            errs.take("pattern", validate_pattern(&p));
            if !(1..=max_codes).contains(&count) {
                errs.push("count", format!("must be between 1 and {max_codes}"));
            }
            Some(CouponSource::Pattern { pattern: p, count })
        }
        (Some(_), None, None) => {
            errs.push("count", "a pattern needs a count");
            None
        }
        (None, None, Some(code)) => {
            let code = normalize(&code);
            errs.take("code", validate_code(&code));
            Some(CouponSource::Shared { code })
        }
        _ => {
            errs.push("pattern", "give either pattern and count, or code");
            None
        }
    };
    if let Err(e) = input.rules.validate() {
        errs.0.extend(e.0);
    }
    match (errs.is_empty(), name, source) {
        (true, Some(name), Some(source)) => Ok(NewCouponBatch {
            name,
            source,
            rules: input.rules,
        }),
        _ => Err(errs.into()),
    }
}

/// Create a batch: generate unique codes (at most 100,000 per request) or register a
/// shared code.
#[utoipa::path(post, path = "/api/v1/coupon-batches", tag = "coupons", request_body = CouponBatchInput,
    responses((status = 201, body = CouponBatchView), (status = 409), (status = 422)),
    security(("api_key" = ["coupons.manage"])))]
pub async fn create_batch(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<CouponBatchInput>,
) -> ApiResult<(StatusCode, axum::Json<CouponBatchView>)> {
    let batch = parse_batch(input, MAX_API_CODES)?;
    let b = state
        .store
        .create_coupon_batch(&auth.ctx(&state), &batch, &|_| {})
        .await?;
    Ok((StatusCode::CREATED, axum::Json(b.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponBatchList {
    pub items: Vec<CouponBatchView>,
}

#[utoipa::path(get, path = "/api/v1/coupon-batches", tag = "coupons",
    responses((status = 200, body = CouponBatchList)),
    security(("api_key" = ["coupons.manage"])))]
pub async fn list_batches(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<CouponBatchList>> {
    let items = state.store.list_coupon_batches(auth.program_id()).await?;
    Ok(axum::Json(CouponBatchList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/coupon-batches/{id}", tag = "coupons",
    params(("id" = String, Path)),
    responses((status = 200, body = CouponBatchView), (status = 404)),
    security(("api_key" = ["coupons.manage"])))]
pub async fn get_batch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CouponBatchView>> {
    let b = state
        .store
        .get_coupon_batch(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("coupon batch"))?;
    Ok(axum::Json(b.into()))
}

/// Every code of a batch with its uses, as CSV (`code,uses`), for printing or a mailing.
#[utoipa::path(get, path = "/api/v1/coupon-batches/{id}/codes", tag = "coupons",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404)),
    security(("api_key" = ["coupons.manage"])))]
pub async fn batch_codes(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state
        .store
        .get_coupon_batch(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("coupon batch"))?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ApiError::internal("writing CSV", &e);
    out.write_record(["code", "uses"]).map_err(csv_err)?;
    let mut after = String::new();
    loop {
        let page = state
            .store
            .coupon_codes(auth.program_id(), &id, &after, 5000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for (code, uses) in page {
            out.write_record([code, uses.to_string()])
                .map_err(csv_err)?;
        }
    }
    let body = out
        .into_inner()
        .map_err(|e| ApiError::internal("writing CSV", &e))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    Ok((headers, body).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponRequest {
    pub code: String,
    /// Required to redeem; optional for a check (then per-customer limits are not checked).
    pub customer_id: Option<String>,
    /// The cart: its total, and its items when the coupon looks at SKUs or categories.
    pub total: MoneyDto,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    /// Redeem only: the purchase the coupon was used on.
    pub purchase_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponUseView {
    /// Empty for a check.
    pub id: String,
    pub code: String,
    pub batch_id: String,
    pub customer_id: Option<String>,
    pub purchase_id: Option<String>,
    pub discount: MoneyDto,
    /// Uses of the code (after this one, when redeemed) and its limit.
    pub uses: i64,
    pub max_uses: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
}

impl CouponUseView {
    fn new(u: CouponUse, c: Currency) -> Self {
        CouponUseView {
            id: u.id,
            code: u.code,
            batch_id: u.batch_id,
            customer_id: u.customer_id,
            purchase_id: u.purchase_id,
            discount: MoneyDto::of(u.discount_minor, c),
            uses: u.uses,
            max_uses: u.max_uses,
            at: u.at,
        }
    }
}

fn parse_request(r: &CouponRequest, currency: Currency) -> Result<(String, CouponCart), ApiError> {
    let mut errs = FieldErrors::default();
    let code = normalize(&r.code);
    if code.is_empty() || code.len() > 64 {
        errs.push("code", "must be 1 to 64 characters");
    }
    let total = crate::api::money::take_minor(&mut errs, &r.total, "total", currency);
    if total.is_some_and(|t| t < 0) {
        errs.push("total.amount", "must not be negative");
    }
    if r.items.len() > 500 {
        errs.push("items", "at most 500 items");
    }
    let mut lines = Vec::new();
    for (i, item) in r.items.iter().enumerate() {
        if !(1..=1_000_000).contains(&item.quantity) {
            errs.push(
                format!("items[{i}].quantity"),
                "must be between 1 and 1000000",
            );
        }
        let field = format!("items[{i}].unit_price");
        let price = crate::api::money::take_minor(&mut errs, &item.unit_price, &field, currency);
        if let Some(p) = price.filter(|_| (1..=1_000_000).contains(&item.quantity)) {
            crate::api::money::check_line_amount(&mut errs, i, item.quantity, p);
        }
        lines.push(CartLine {
            sku: item.sku.clone(),
            category: item.category.clone(),
            quantity: item.quantity,
            unit_price_minor: price.unwrap_or(0),
        });
    }
    match (errs.is_empty(), total) {
        (true, Some(total_minor)) => Ok((
            code,
            CouponCart {
                lines,
                total_minor,
                values: Vec::new(),
            },
        )),
        _ => Err(errs.into()),
    }
}

/// What a code would give this cart (and customer) now. Writes nothing.
#[utoipa::path(post, path = "/api/v1/coupons/check", tag = "coupons", request_body = CouponRequest,
    responses((status = 200, body = CouponUseView), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["coupons.use"])))]
pub async fn check(
    State(state): State<AppState>,
    auth: Auth,
    Json(r): Json<CouponRequest>,
) -> ApiResult<axum::Json<CouponUseView>> {
    let currency = program_currency(&state, &auth).await?;
    let (code, cart) = parse_request(&r, currency)?;
    let u = state
        .store
        .check_coupon(
            auth.program_id(),
            &code,
            r.customer_id.as_deref(),
            &cart,
            state.clock.now(),
        )
        .await?;
    Ok(axum::Json(CouponUseView::new(u, currency)))
}

/// Use a code once for a customer and cart: a single-use code succeeds for exactly one
/// request, however many arrive together. `Idempotency-Key` makes retries safe.
#[utoipa::path(post, path = "/api/v1/coupons/redeem", tag = "coupons", request_body = CouponRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CouponUseView), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["coupons.use"])))]
pub async fn redeem(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<CouponRequest>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<CouponUseView>)> {
    let currency = program_currency(&state, &auth).await?;
    let idem = req.idempotency(None);
    let r = &req.body;
    let customer = r
        .customer_id
        .clone()
        .ok_or_else(|| ApiError::field("customer_id", "redeeming needs the customer"))?;
    let (code, cart) = parse_request(r, currency)?;
    let out = state
        .store
        .redeem_coupon(
            &auth.ctx(&state),
            &code,
            &customer,
            &cart,
            r.purchase_id.as_deref(),
            idem.as_ref(),
        )
        .await?;
    let (status, headers) = crate::api::purchases::replay_headers(&out);
    Ok((
        status,
        headers,
        axum::Json(CouponUseView::new(out.value, currency)),
    ))
}
