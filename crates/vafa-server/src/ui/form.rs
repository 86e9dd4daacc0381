//! A posted UI form: the signed-in member, the fields as sent (repeated names kept in
//! order, for cart lines), and the CSRF check done before the handler sees anything.

use super::Ui;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// Forms are small; a body over this is refused before it is read in full.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub struct Posted {
    pub ui: Ui,
    fields: Vec<(String, String)>,
    token: Option<String>,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ui = Ui::from_request_parts(&mut parts, state).await?;
        let token = super::cookies(&parts.headers).remove(super::SESSION_COOKIE);
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let req = Request::from_parts(parts, body);
        let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response())?;
        let fields = parse(&bytes);
        let sent = header_token.or_else(|| {
            fields
                .iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.clone())
        });
        let ok = sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(ui.csrf.as_bytes())));
        if !ok {
            return Err(super::UiError::Forbidden.respond(&ui));
        }
        Ok(Posted { ui, fields, token })
    }
}

/// NUL characters are dropped: no browser sends them, and the database cannot keep them.
fn parse(bytes: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.replace('\0', ""), v.replace('\0', "")))
        .collect()
}

impl Posted {
    /// A field's value, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value sent under `name`, in order, blanks kept (so parallel lists align).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// The session cookie the form came with (to end it on sign-out).
    pub fn session_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A whole number typed into `name` (Persian digits and separators allowed); blank
    /// is `None`, anything else that is not a whole number is a field error.
    pub fn count(&self, name: &str) -> Result<Option<i64>, super::UiError> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => super::i18n::parse_count(s).map(Some).ok_or_else(|| {
                super::UiError::Api(crate::error::ApiError::field(
                    name,
                    self.ui.v.t("must_be_whole"),
                ))
            }),
        }
    }

    /// An amount typed into `name` in the unit shown, as minor units; blank is `None`.
    pub fn money(&self, name: &str) -> Result<Option<i64>, super::UiError> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => self.ui.v.parse_money(s).map(Some).ok_or_else(|| {
                super::UiError::Api(crate::error::ApiError::field(
                    name,
                    self.ui.v.with_unit("amount_in_unit"),
                ))
            }),
        }
    }

    /// A checkbox: present and not "off".
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "off" && v != "false")
    }
}

/// What was typed into a refused form, to draw it again as it was (the CSRF token left
/// out); empty when the form is drawn fresh, so each field shows its default.
#[derive(Default)]
pub struct Typed(Vec<(String, String)>);

impl Typed {
    pub fn of(p: &Posted) -> Typed {
        Typed(
            p.fields
                .iter()
                .filter(|(k, _)| k != "csrf")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The field as typed, or `default` when the form is drawn fresh.
    pub fn val(&self, name: &str, default: &str) -> String {
        if self.0.is_empty() {
            return default.to_owned();
        }
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(String::new, |(_, v)| v.clone())
    }

    /// A select's choice as typed, or `default`.
    pub fn is(&self, name: &str, value: &str, default: &str) -> bool {
        self.val(name, default) == value
    }
}
