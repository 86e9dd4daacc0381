//! Staff users: people who sign in with a password (argon2id) and act under a role;
//! sessions are bearer tokens like API keys. `POST /auth/login`, `/auth/logout`,
//! `/api/v1/me`, `/api/v1/staff`, and staff performance.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query};
use crate::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::auth::Role;
use vafa_core::validate::short_text;
use vafa_core::FieldErrors;
use vafa_store::{IssuedSession, NewStaff, StaffMember, StaffPatch, StaffPerformance};

/// How long a sign-in lasts.
pub const SESSION_TTL: jiff::SignedDuration = jiff::SignedDuration::from_hours(12);

/// Password hashes computed at once: each takes 19 MiB and a core for tens of
/// milliseconds, so a burst of sign-ins queues here instead of exhausting the machine.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Failed sign-ins allowed per username within [`LoginThrottle::WINDOW`].
const MAX_FAILURES: u32 = 10;

/// Failed sign-ins per username in this process: after [`MAX_FAILURES`] within the
/// window, that username is refused (without checking the password) until the window
/// passes. Bounded: when full, windows that have passed are forgotten, then the oldest.
#[derive(Default)]
pub struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, jiff::Timestamp)>>,
}

impl LoginThrottle {
    const WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);
    const MAX_NAMES: usize = 10_000;

    /// When `username` may try again, if it is locked out at `now`.
    fn locked_until(&self, username: &str, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, since) = map.get(username)?;
        let until = since.saturating_add(Self::WINDOW).ok()?;
        (*count >= MAX_FAILURES && until > now).then_some(until)
    }

    fn failed(&self, username: &str, now: jiff::Timestamp) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX_NAMES && !map.contains_key(username) {
            let cutoff = now.saturating_sub(Self::WINDOW).unwrap_or(now);
            map.retain(|_, (_, since)| *since > cutoff);
            if map.len() >= Self::MAX_NAMES {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, (_, s))| *s)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    map.remove(&k);
                }
            }
        }
        let entry = map.entry(username.to_owned()).or_insert((0, now));
        if entry
            .1
            .saturating_add(Self::WINDOW)
            .is_ok_and(|end| end <= now)
        {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    fn succeeded(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(username);
    }
}

/// Hash a password with argon2id's defaults (19 MiB, 2 passes), off the async threads.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| ApiError::internal("password hashing queue", e))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::internal("password hashing task", e))?
    .map_err(|e| ApiError::internal("password hashing", e))
}

/// Check a password against a stored hash, off the async threads.
pub async fn verify_password(password: String, hash: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the username is unknown, so both cases take as long.
static DECOY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn decoy_hash() -> String {
    DECOY_HASH
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(b"not a password anyone has", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

fn check_password(errs: &mut FieldErrors, field: &str, password: &str) {
    let n = password.chars().count();
    if n < 8 {
        errs.push(field, "must be at least 8 characters");
    } else if n > 200 {
        errs.push(field, "must be at most 200 characters");
    }
}

fn check_username(errs: &mut FieldErrors, username: &str) -> String {
    let u = vafa_core::digits::normalize_digits(username.trim()).to_lowercase();
    let ok = (3..=64).contains(&u.chars().count())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !ok {
        errs.push(
            "username",
            "3–64 characters: latin letters, digits, and . _ - @",
        );
    }
    u
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

/// Sign in: a session token to send as `Authorization: Bearer`, valid for 12 hours.
#[utoipa::path(post, path = "/auth/login", tag = "staff", request_body = LoginInput,
    responses((status = 200, body = IssuedSession), (status = 401, description = "Unknown username or wrong password"), (status = 422), (status = 429, description = "Too many failed sign-ins for this username; wait and retry")))]
pub async fn login(
    State(state): State<AppState>,
    Json(input): Json<LoginInput>,
) -> ApiResult<axum::Json<IssuedSession>> {
    let session = sign_in(&state, &input.username, &input.password).await?;
    Ok(axum::Json(session))
}

/// Check a username and password and open a session (also used by the admin UI).
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<IssuedSession, ApiError> {
    let username = vafa_core::digits::normalize_digits(username.trim()).to_lowercase();
    let now = state.clock.now();
    if let Some(until) = state.logins.locked_until(&username, now) {
        let wait = until.duration_since(now).as_secs().max(1);
        return Err(ApiError::new(
            ErrorCode::TooManyAttempts,
            format!("too many failed sign-ins for this username; try again in {wait} s"),
        )
        .with_retry_after(wait));
    }
    let found = state.store.staff_credentials(&username).await?;
    let hash = found
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(decoy_hash);
    let ok = verify_password(password.to_owned(), hash).await;
    match found {
        Some(c) if ok && c.staff.status == "active" => {
            state.logins.succeeded(&username);
            Ok(state
                .store
                .start_session(&c.staff.id, now, SESSION_TTL)
                .await?)
        }
        _ => {
            state.logins.failed(&username, now);
            Err(ApiError::new(
                ErrorCode::Unauthorized,
                "wrong username or password",
            ))
        }
    }
}

/// Sign out: the session behind the bearer token ends.
#[utoipa::path(post, path = "/auth/logout", tag = "staff",
    responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<StatusCode> {
    if let Some(token) = crate::auth::bearer(&headers) {
        state.store.end_session(token, state.clock.now()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub program_id: String,
    pub role: String,
    /// The staff member, when signed in with a password (not an API key).
    pub staff: Option<StaffMember>,
}

/// Who the bearer token is.
#[utoipa::path(get, path = "/api/v1/me", tag = "staff",
    responses((status = 200, body = Me)),
    security(("api_key" = ["program.read"])))]
pub async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<axum::Json<Me>> {
    let staff = match &auth.0.staff_id {
        Some(id) => state.store.get_staff(auth.program_id(), id).await?,
        None => None,
    };
    Ok(axum::Json(Me {
        program_id: auth.0.program_id.clone(),
        role: auth.0.role.as_str().to_owned(),
        staff,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffInput {
    pub username: String,
    pub name: String,
    /// `admin`, `manager`, `cashier`, `support`, `analyst` or `partner`.
    pub role: String,
    /// At least 8 characters.
    pub password: String,
}

/// Add a staff member who signs in with a password.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = StaffInput,
    responses((status = 201, body = StaffMember), (status = 409), (status = 422)),
    security(("api_key" = ["staff.manage"])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<StaffInput>,
) -> ApiResult<(StatusCode, axum::Json<StaffMember>)> {
    let s = new_staff(input).await?;
    let saved = state.store.create_staff(&auth.ctx(&state), &s).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)))
}

/// A staff member to create, checked and with the password hashed: the API's rules, for
/// the API and for `vafa staff create`.
pub async fn new_staff(input: StaffInput) -> Result<NewStaff, ApiError> {
    let mut errs = FieldErrors::default();
    let username = check_username(&mut errs, &input.username);
    let name = match short_text(&input.name, 100) {
        Ok(Some(n)) => Some(n),
        Ok(None) => {
            errs.push("name", "must not be empty");
            None
        }
        Err(e) => {
            errs.push("name", e);
            None
        }
    };
    let role = errs.take("role", input.role.parse::<Role>());
    check_password(&mut errs, "password", &input.password);
    let (Some(name), Some(role)) = (name, role) else {
        return Err(errs.into());
    };
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let password_hash = hash_password(input.password).await?;
    Ok(NewStaff {
        username,
        name,
        role,
        password_hash,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffList {
    pub items: Vec<StaffMember>,
}

/// The program's staff (to assign tickets and tasks).
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff",
    responses((status = 200, body = StaffList)),
    security(("api_key" = ["crm.read"])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<axum::Json<StaffList>> {
    Ok(axum::Json(StaffList {
        items: state.store.list_staff(auth.program_id()).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffUpdate {
    pub name: Option<String>,
    pub role: Option<String>,
    /// A new password; every session of the member ends.
    pub password: Option<String>,
    /// `true` disables the account and ends its sessions.
    pub disabled: Option<bool>,
    /// The admin UI's language for the member: `fa`, `en`, or `null` for the program's.
    #[serde(default, deserialize_with = "crate::api::staff::double_option")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
}

/// An absent field is `None`, an explicit `null` is `Some(None)`.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Rename, change the role, reset the password or disable a staff member.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", params(("id" = String, Path)),
    request_body = StaffUpdate,
    responses((status = 200, body = StaffMember), (status = 404), (status = 422)),
    security(("api_key" = ["staff.manage"])))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<StaffUpdate>,
) -> ApiResult<axum::Json<StaffMember>> {
    let mut errs = FieldErrors::default();
    let name = match input.name.as_deref() {
        Some(n) => match short_text(n, 100) {
            Ok(Some(n)) => Some(n),
            Ok(None) => {
                errs.push("name", "must not be empty");
                None
            }
            Err(e) => {
                errs.push("name", e);
                None
            }
        },
        None => None,
    };
    let role = input
        .role
        .as_deref()
        .and_then(|r| errs.take("role", r.parse::<Role>()));
    if let Some(p) = &input.password {
        check_password(&mut errs, "password", p);
    }
    let locale = match &input.locale {
        None => None,
        Some(None) => Some(None),
        Some(Some(l)) => errs
            .take("locale", l.parse::<vafa_core::program::Locale>())
            .map(Some),
    };
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let password_hash = match input.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let patch = StaffPatch {
        name,
        role,
        disabled: input.disabled,
        password_hash,
        locale,
    };
    Ok(axum::Json(
        state
            .store
            .update_staff(&auth.ctx(&state), &id, &patch)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Start (RFC 3339 or a local Gregorian/Jalali date); default: 30 days ago.
    pub from: Option<String>,
    /// End, exclusive; default: now (what happened at this instant counts).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceReport {
    #[schema(value_type = String, format = DateTime)]
    pub from: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: jiff::Timestamp,
    pub items: Vec<StaffPerformance>,
}

/// Per staff member in a period: interactions, replies, tickets resolved, SLA breaches,
/// average CSAT, promises kept.
#[utoipa::path(get, path = "/api/v1/staff/performance", tag = "staff", params(PeriodQuery),
    responses((status = 200, body = PerformanceReport), (status = 422)),
    security(("api_key" = ["performance.read"])))]
pub async fn performance(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<axum::Json<PerformanceReport>> {
    let program = state
        .store
        .get_program(auth.program_id())
        .await?
        .ok_or_else(|| ApiError::not_found("program"))?;
    let tz = jiff::tz::TimeZone::get(&program.timezone)
        .map_err(|e| ApiError::internal("program time zone", e))?;
    let now = state.clock.now();
    let parse = |field: &str, s: &str| {
        crate::import::parse_time(s, &tz).map_err(|e| ApiError::field(field, e))
    };
    let to = match q.to.as_deref() {
        Some(s) => parse("to", s)?,
        None => now + jiff::SignedDuration::from_micros(1),
    };
    let from = q
        .from
        .as_deref()
        .map(|s| parse("from", s))
        .transpose()?
        .unwrap_or_else(|| {
            to.saturating_sub(jiff::SignedDuration::from_hours(24 * 30))
                .unwrap_or(to)
        });
    if from >= to {
        return Err(ApiError::field("from", "must be before to"));
    }
    let items = state
        .store
        .staff_performance(auth.program_id(), from, to, now)
        .await?;
    Ok(axum::Json(PerformanceReport { from, to, items }))
}
