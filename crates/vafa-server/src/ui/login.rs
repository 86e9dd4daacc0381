//! Signing in and out, and choosing the language. The login form is protected by a
//! double-submit token (a cookie and a field that must match), since there is no
//! session yet to hold one.

use super::{cookies, lang_of, render, Lang, Posted, LANG_COOKIE, SESSION_COOKIE};
use crate::AppState;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use subtle::ConstantTimeEq;
use vafa_store::StoreError;

const LOGIN_COOKIE: &str = "vafa_login";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang", post(set_lang))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    token: String,
    error: Option<String>,
    username: String,
}

impl LoginPage {
    fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }
}

fn login_form(lang: Lang, status: StatusCode, error: Option<String>, username: &str) -> Response {
    let token = vafa_store::keys::random_token();
    let page = LoginPage {
        lang,
        token: token.clone(),
        error,
        username: username.to_owned(),
    };
    let cookie =
        format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    (status, [(header::SET_COOKIE, cookie)], render(&page)).into_response()
}

async fn login_page(headers: HeaderMap) -> Response {
    login_form(lang_of(&headers), StatusCode::OK, None, "")
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    token: String,
}

/// `Secure` on the cookie when the request came over HTTPS (a proxy in front says so in
/// `X-Forwarded-Proto`); plain HTTP on localhost must still work.
fn secure_flag(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https {
        "; Secure"
    } else {
        ""
    }
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    let expected = cookies(&headers).remove(LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(f.token.as_bytes())) {
        return login_form(
            lang,
            StatusCode::FORBIDDEN,
            Some(lang.t("login_expired")),
            &f.username,
        );
    }
    match crate::api::staff::sign_in(&state, &f.username, &f.password).await {
        Ok(session) => {
            let max_age = (session.expires_at - state.clock.now())
                .get_seconds()
                .max(0);
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
                session.token,
                secure_flag(&headers)
            );
            let clear =
                format!("{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0");
            let mut res = Redirect::to("/").into_response();
            for c in [cookie, clear] {
                if let Ok(v) = header::HeaderValue::from_str(&c) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Err(e) => {
            let key = match e.code {
                crate::error::ErrorCode::TooManyAttempts => "login_throttled",
                crate::error::ErrorCode::Unauthorized => "login_wrong",
                _ => "login_unavailable",
            };
            login_form(lang, e.code.status(), Some(lang.t(key)), &f.username)
        }
    }
}

async fn logout(State(state): State<AppState>, p: Posted) -> Response {
    if let Some(token) = p.session_token() {
        if let Err(e) = state.store.end_session(token, state.clock.now()).await {
            tracing::warn!(error = %e, "sign-out could not end the session");
        }
    }
    (
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

/// A path on this site to return to: `/…`, never `//host` or `/\\host` (which browsers
/// read as another site), and only characters a URL path and query need.
fn local_path(s: &str) -> bool {
    s.starts_with('/')
        && !s.starts_with("//")
        && s.len() <= 500
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.~?=&%+".contains(&b))
}

/// Switch the language: remembered on the member (every device) and in a cookie (for
/// the login page).
async fn set_lang(State(state): State<AppState>, p: Posted) -> Response {
    let lang = p.get("lang").and_then(Lang::parse).unwrap_or(Lang::Fa);
    let locale = match lang {
        Lang::Fa => vafa_core::program::Locale::Fa,
        Lang::En => vafa_core::program::Locale::En,
    };
    let patch = vafa_store::StaffPatch {
        locale: Some(Some(locale)),
        ..Default::default()
    };
    let ctx = p.ui.auth().ctx(&state);
    match state.store.update_staff(&ctx, &p.ui.staff.id, &patch).await {
        Ok(_) | Err(StoreError::NotFound(_)) => {}
        Err(e) => tracing::warn!(error = %e, "language not saved"),
    }
    let back = p
        .get("back")
        .filter(|b| local_path(b))
        .unwrap_or("/")
        .to_owned();
    (
        [(
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                lang.code()
            ),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_returned_to() {
        for ok in ["/", "/crm?view=all", "/customers/cus_01a2", "/x%20y"] {
            assert!(super::local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a\nb",
            "/a b",
            "javascript:x",
        ] {
            assert!(!super::local_path(bad), "{bad}");
        }
    }
}
