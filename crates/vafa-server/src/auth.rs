//! Authentication and authorisation for every `/api/` route.
//!
//! A route's permission is the scope of its security requirement in the OpenAPI
//! document; this middleware enforces what the document says, so the published
//! spec, `docs/permissions.md` and the enforcement are one table. An `/api/` route
//! that names no permission is refused, never served open.

use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{header, request::Parts, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use vafa_core::auth::Permission;
use vafa_store::{Ctx, Principal};

pub const SECURITY_SCHEME: &str = "api_key";

/// (method, path template) → the permission the route needs.
#[derive(Debug, Default)]
pub struct RoutePermissions(HashMap<(Method, String), Permission>);

impl RoutePermissions {
    /// Read the table from the OpenAPI document. Fails on an operation with an unknown
    /// scope, or with more than one, so a typo cannot open a route.
    pub fn from_openapi(doc: &serde_json::Value) -> Result<Self, String> {
        let mut table = HashMap::new();
        for (path, item, method, op) in operations(doc) {
            let Some(security) = op.get("security").and_then(|s| s.as_array()) else {
                if path.starts_with("/api/") {
                    return Err(format!("{method} {path} has no security requirement"));
                }
                continue;
            };
            let scopes: Vec<&str> = security
                .iter()
                .filter_map(|req| req.get(SECURITY_SCHEME))
                .filter_map(|s| s.as_array())
                .flatten()
                .filter_map(|s| s.as_str())
                .collect();
            let [scope] = scopes.as_slice() else {
                return Err(format!(
                    "{method} {path} must name exactly one permission, names {scopes:?}"
                ));
            };
            let permission = scope.parse::<Permission>()?;
            let _ = item;
            table.insert((method, path.to_owned()), permission);
        }
        Ok(RoutePermissions(table))
    }

    pub fn get(&self, method: &Method, path: &str) -> Option<Permission> {
        self.0.get(&(method.clone(), path.to_owned())).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Method, &str, Permission)> {
        self.0.iter().map(|((m, p), perm)| (m, p.as_str(), *perm))
    }
}

/// Every (path, path item, method, operation) of an OpenAPI document.
pub fn operations(
    doc: &serde_json::Value,
) -> Vec<(&str, &serde_json::Value, Method, &serde_json::Value)> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
        return out;
    };
    for (path, item) in paths {
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            if let Some(op) = item.get(name) {
                out.push((path.as_str(), item, method, op));
            }
        }
    }
    out
}

/// The caller of an authorised request.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl Auth {
    pub fn program_id(&self) -> &str {
        &self.0.program_id
    }

    /// The write context: this program, this key, now.
    pub fn ctx(&self, state: &AppState) -> Ctx {
        Ctx {
            program_id: self.0.program_id.clone(),
            actor: self.0.actor(),
            now: state.clock.now(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Auth>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "missing API key"))
    }
}

pub fn bearer(parts: &axum::http::HeaderMap) -> Option<&str> {
    let value = parts.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub async fn authorize(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(path) = matched.map(|m| m.as_str().to_owned()) else {
        return next.run(req).await;
    };
    let permission = match state.permissions.get(req.method(), &path) {
        Some(p) => p,
        None if path.starts_with("/api/") => {
            return ApiError::internal("route without permission", &path).into_response();
        }
        None => return next.run(req).await,
    };
    let Some(token) = bearer(req.headers()) else {
        return ApiError::new(
            ErrorCode::Unauthorized,
            "send Authorization: Bearer <api key>",
        )
        .into_response();
    };
    let principal = match state.store.authenticate(token, state.clock.now()).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return ApiError::new(ErrorCode::Unauthorized, "the API key is unknown or revoked")
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !principal.role.allows(permission) {
        let detail = format!("role {} lacks permission {}", principal.role, permission);
        return ApiError::new(ErrorCode::Forbidden, detail).into_response();
    }
    req.extensions_mut().insert(Auth(principal));
    next.run(req).await
}
