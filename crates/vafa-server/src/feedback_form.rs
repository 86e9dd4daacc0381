//! The feedback link a customer opens without signing in: `/f/{token}` shows one NPS
//! or CSAT question in the request's language and takes one answer. The token is the
//! secret; a second answer is refused.

use crate::ui::{escape, Lang};
use crate::AppState;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::fmt::Write;
use vafa_core::crm::FeedbackKind;
use vafa_store::StoreError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/f/{token}", get(show).post(answer))
}

fn shell(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{code}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/ui.css\"></head>\
         <body><main><div class=\"feedback\">{body}</div></main></body></html>",
        code = lang.code(),
        dir = lang.t("dir"),
        title = escape(title),
    )
}

/// The link is the secret: no cache keeps the page.
const NO_STORE: [(axum::http::HeaderName, &str); 1] =
    [(axum::http::header::CACHE_CONTROL, "no-store")];

fn message(lang: Lang, status: StatusCode, title: &str, key: &str) -> Response {
    let body = format!("<p>{}</p>", escape(&lang.t(key)));
    (status, NO_STORE, Html(shell(lang, title, &body))).into_response()
}

fn lang_of(locale: &str) -> Lang {
    if locale == "en" {
        Lang::En
    } else {
        Lang::Fa
    }
}

fn form(
    lang: Lang,
    token: &str,
    kind: FeedbackKind,
    program: &str,
    error: Option<&str>,
    comment: &str,
) -> String {
    let title_key = match kind {
        FeedbackKind::Nps => "fb_title_nps",
        FeedbackKind::Csat => "fb_title_csat",
    };
    let title = lang.t(title_key).replace("{program}", program);
    let mut body = format!("<h1>{}</h1>", escape(&title));
    if let Some(key) = error {
        let _ = write!(
            body,
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(&lang.t(key))
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/f/{}\"><fieldset class=\"scale {}\">",
        escape(token),
        kind.as_str()
    );
    let (range, labels): (std::ops::RangeInclusive<i64>, bool) = match kind {
        FeedbackKind::Nps => (0..=10, false),
        FeedbackKind::Csat => (1..=5, true),
    };
    for n in range {
        let caption = if labels {
            lang.t(&format!("fb_csat_{n}"))
        } else {
            lang.digits(&n.to_string())
        };
        let _ = write!(
            body,
            "<label><input type=\"radio\" name=\"score\" value=\"{n}\"><span>{}</span></label>",
            escape(&caption)
        );
    }
    body.push_str("</fieldset>");
    if kind == FeedbackKind::Nps {
        let _ = write!(
            body,
            "<div class=\"ends\"><span>{}</span><span>{}</span></div>",
            escape(&lang.t("fb_nps_low")),
            escape(&lang.t("fb_nps_high"))
        );
    }
    let _ = write!(
        body,
        "<p><label for=\"comment\">{}</label><textarea id=\"comment\" name=\"comment\" maxlength=\"2000\">{}</textarea></p>\
         <button type=\"submit\">{}</button></form>",
        escape(&lang.t("fb_comment")),
        escape(comment),
        escape(&lang.t("fb_send"))
    );
    body
}

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let found = match state.store.feedback_form(&token).await {
        Ok(f) => f,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let Some(f) = found else {
        return message(Lang::Fa, StatusCode::NOT_FOUND, "وفا", "fb_missing");
    };
    let lang = lang_of(&f.feedback.locale);
    if f.feedback.status == "answered" {
        return message(lang, StatusCode::OK, &f.program_name, "fb_already");
    }
    if f.feedback
        .expires_at
        .is_some_and(|e| e <= state.clock.now())
    {
        return message(lang, StatusCode::GONE, &f.program_name, "fb_expired");
    }
    let page = form(lang, &token, f.feedback.kind, &f.program_name, None, "");
    (NO_STORE, Html(shell(lang, &f.program_name, &page))).into_response()
}

#[derive(Deserialize)]
struct Answer {
    score: Option<String>,
    comment: Option<String>,
}

async fn answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(a): Form<Answer>,
) -> Response {
    let found = match state.store.feedback_form(&token).await {
        Ok(f) => f,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let Some(f) = found else {
        return message(Lang::Fa, StatusCode::NOT_FOUND, "وفا", "fb_missing");
    };
    let lang = lang_of(&f.feedback.locale);
    let score = a
        .score
        .as_deref()
        .map(vafa_core::digits::normalize_digits)
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|s| f.feedback.kind.check_score(*s).is_ok());
    let typed = a.comment.as_deref().unwrap_or("");
    let again = |key: &str| {
        let page = form(
            lang,
            &token,
            f.feedback.kind,
            &f.program_name,
            Some(key),
            typed,
        );
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            NO_STORE,
            Html(shell(lang, &f.program_name, &page)),
        )
            .into_response()
    };
    let Some(score) = score else {
        return again("fb_pick");
    };
    // A comment too long is shown again to shorten, never cut or dropped unseen.
    let comment = match vafa_core::validate::short_text(typed, 2000) {
        Ok(c) => c,
        Err(_) => return again("fb_too_long"),
    };
    match state
        .store
        .answer_feedback(&token, score, comment.as_deref(), state.clock.now())
        .await
    {
        Ok(_) => message(lang, StatusCode::OK, &f.program_name, "fb_thanks"),
        Err(StoreError::FeedbackAnswered) => {
            message(lang, StatusCode::CONFLICT, &f.program_name, "fb_already")
        }
        Err(StoreError::Conflict(_)) => {
            message(lang, StatusCode::GONE, &f.program_name, "fb_expired")
        }
        Err(StoreError::NotFound(_)) => {
            message(lang, StatusCode::NOT_FOUND, &f.program_name, "fb_missing")
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
