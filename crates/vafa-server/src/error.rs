//! The API's one error type and its table of stable codes.
//!
//! Every failure leaves as `application/problem+json` (RFC 9457) with a snake_case
//! `code` clients can switch on; the table below is the only place a code gets its
//! HTTP status, and `docs/errors.md` is checked against it by a test. Internal
//! details are logged, never sent.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vafa_core::{FieldError, FieldErrors};
use vafa_store::StoreError;

macro_rules! codes {
    ($($variant:ident => $code:literal, $status:literal, $title:literal;)+) => {
        /// A stable error code. Never renumber or rename: clients depend on these strings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }
            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::from_u16($status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)),+ }
            }
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title),+ }
            }
        }
    };
}

codes! {
    MalformedJson => "malformed_json", 400, "The request body is not valid JSON";
    BadRequest => "bad_request", 400, "The request is malformed";
    Unauthorized => "unauthorized", 401, "A valid API key is required";
    Forbidden => "forbidden", 403, "This key's role may not do that";
    NotFound => "not_found", 404, "No such resource";
    MethodNotAllowed => "method_not_allowed", 405, "Method not allowed on this resource";
    DuplicateMobile => "duplicate_mobile", 409, "Mobile number already registered";
    DuplicateExternalId => "duplicate_external_id", 409, "External id already used";
    DuplicateNationalId => "duplicate_national_id", 409, "National id already registered";
    CustomerClosed => "customer_closed", 409, "The customer is erased or merged";
    CardNotActive => "card_not_active", 409, "The card is blocked or replaced";
    CardAlreadyBound => "card_already_bound", 409, "The card already belongs to a customer";
    KeyRevoked => "api_key_revoked", 409, "The API key is already revoked";
    IdempotencyConflict => "idempotency_conflict", 409, "This Idempotency-Key was used for a different request";
    DuplicatePurchase => "duplicate_purchase", 409, "A purchase with this external id exists with other details";
    DuplicateEvent => "duplicate_event", 409, "An event with this external id was already recorded";
    CustomerBlocked => "customer_blocked", 409, "The customer is blocked";
    DuplicateCouponCode => "duplicate_coupon_code", 409, "A coupon with this code already exists";
    CouponUsedUp => "coupon_used_up", 409, "The coupon code has no uses left";
    ClaimNotUsable => "reward_claim_not_usable", 409, "The reward code or claim cannot be used, cancelled or moved";
    InvalidState => "invalid_state", 409, "The record is not in a state that allows this change";
    DuplicateUsername => "duplicate_username", 409, "This username is taken";
    FeedbackAnswered => "feedback_answered", 409, "This feedback was already given";
    PayloadTooLarge => "payload_too_large", 413, "The request body is too large";
    UnsupportedMediaType => "unsupported_media_type", 415, "Send JSON with Content-Type: application/json";
    ValidationFailed => "validation_failed", 422, "Some fields are invalid";
    MergeSelf => "merge_self", 422, "A customer cannot be merged into itself";
    InsufficientPoints => "insufficient_points", 422, "Not enough points";
    InsufficientCashback => "insufficient_cashback", 422, "Not enough cashback";
    ReturnTooLarge => "return_too_large", 422, "More than was bought cannot be returned";
    TransferRefused => "transfer_refused", 422, "The transfer is not allowed";
    CouponNotApplicable => "coupon_not_applicable", 422, "The coupon does not apply to this cart or customer";
    RewardUnavailable => "reward_unavailable", 422, "The reward cannot be claimed by this customer now";
    LedgerLimit => "ledger_limit", 422, "The amount is beyond what the ledger holds";
    TooManyAttempts => "too_many_attempts", 429, "Too many failed attempts; wait and try again";
    InternalError => "internal_error", 500, "Something went wrong on our side";
    ServiceUnavailable => "service_unavailable", 503, "The service is temporarily unavailable";
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds for a `Retry-After` header (a throttled request).
    pub retry_after: Option<i64>,
}

impl ApiError {
    /// A store refusal, with "not enough points" or "not enough cashback" naming the
    /// request's field that asked for them (`points` and `cashback`): only the handler
    /// knows which of its fields that is.
    pub fn short_of(e: StoreError, points: &str, cashback: &str) -> Self {
        let field = match e {
            StoreError::InsufficientPoints { .. } => points,
            StoreError::InsufficientCashback { .. } => cashback,
            e => return e.into(),
        };
        let mut err = Self::from(e);
        err.errors.push(FieldError::new(field, err.detail.clone()));
        err
    }

    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        FieldErrors::from(FieldError::new(field, message)).into()
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            ErrorCode::InternalError,
            "the error was logged; retrying may help",
        )
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errs: FieldErrors) -> Self {
        let detail = errs.to_string();
        ApiError {
            code: ErrorCode::ValidationFailed,
            detail,
            errors: errs.0,
            retry_after: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::DuplicateMobile => ErrorCode::DuplicateMobile,
            StoreError::DuplicateExternalId => ErrorCode::DuplicateExternalId,
            StoreError::DuplicateNationalId => ErrorCode::DuplicateNationalId,
            StoreError::CustomerClosed(_) => ErrorCode::CustomerClosed,
            StoreError::MergeSelf => ErrorCode::MergeSelf,
            StoreError::CardNotActive(_) => ErrorCode::CardNotActive,
            StoreError::CardAlreadyBound => ErrorCode::CardAlreadyBound,
            StoreError::KeyRevoked => ErrorCode::KeyRevoked,
            StoreError::CardNumberExhausted => ErrorCode::ServiceUnavailable,
            StoreError::InsufficientPoints { .. } => ErrorCode::InsufficientPoints,
            StoreError::InsufficientCashback { .. } => ErrorCode::InsufficientCashback,
            StoreError::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            StoreError::DuplicatePurchase => ErrorCode::DuplicatePurchase,
            StoreError::CustomerBlocked => ErrorCode::CustomerBlocked,
            StoreError::ReturnTooLarge { .. } => ErrorCode::ReturnTooLarge,
            StoreError::TransferRefused { .. } => ErrorCode::TransferRefused,
            StoreError::DuplicateEvent => ErrorCode::DuplicateEvent,
            StoreError::DuplicateCouponCode => ErrorCode::DuplicateCouponCode,
            StoreError::CouponUsedUp => ErrorCode::CouponUsedUp,
            StoreError::CouponNotApplicable(_) => ErrorCode::CouponNotApplicable,
            StoreError::RewardUnavailable(_) => ErrorCode::RewardUnavailable,
            StoreError::ClaimNotUsable(_) => ErrorCode::ClaimNotUsable,
            StoreError::LedgerLimit(_) => ErrorCode::LedgerLimit,
            StoreError::Invalid(_) => ErrorCode::ValidationFailed,
            StoreError::InvalidField { field, message } => {
                return ApiError::field(field, message.clone());
            }
            StoreError::Conflict(_) => ErrorCode::InvalidState,
            StoreError::DuplicateUsername => ErrorCode::DuplicateUsername,
            StoreError::FeedbackAnswered => ErrorCode::FeedbackAnswered,
            // Caught by name at the edge (`extract`); this is the net under it.
            _ if e.is_unstorable_text() => {
                return Self::new(
                    ErrorCode::ValidationFailed,
                    "a text value holds a character that cannot be stored (NUL)",
                );
            }
            _ if e.is_transient_conflict() => {
                tracing::warn!(error = %e, "transaction gave way to a concurrent one");
                let mut err = Self::new(
                    ErrorCode::ServiceUnavailable,
                    "a concurrent request held what this one needed; nothing was written, retry it",
                );
                err.retry_after = Some(1);
                return err;
            }
            _ if e.is_unavailable() => {
                tracing::warn!(error = %e, "store unavailable");
                return Self::new(
                    ErrorCode::ServiceUnavailable,
                    "the database is not reachable; retry shortly",
                );
            }
            _ => return Self::internal("store failure", &e),
        };
        let mut err = Self::new(code, e.to_string());
        // Duplicates name the field that clashed, like validation errors do.
        let field = match (code, &e) {
            (ErrorCode::DuplicateMobile, _) => Some("mobile"),
            (
                ErrorCode::DuplicateExternalId
                | ErrorCode::DuplicatePurchase
                | ErrorCode::DuplicateEvent,
                _,
            ) => Some("external_id"),
            (ErrorCode::DuplicateNationalId, _) => Some("national_id"),
            (ErrorCode::DuplicateCouponCode, _) => Some("code"),
            (ErrorCode::DuplicateUsername, _) => Some("username"),
            (_, StoreError::ReturnTooLarge { field, .. }) => Some(field.as_str()),
            (_, StoreError::TransferRefused { field, .. }) => *field,
            _ => None,
        };
        if let Some(f) = field {
            err.errors.push(FieldError::new(f, e.to_string()));
        }
        err
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = Problem {
            type_: format!("urn:vafa:problem:{}", self.code.as_str()),
            title: self.code.title(),
            status: status.as_u16(),
            detail: &self.detail,
            code: self.code.as_str(),
            field: self.errors.first().map(|e| e.field.as_str()),
            errors: &self.errors,
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response();
        if let Some(s) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
