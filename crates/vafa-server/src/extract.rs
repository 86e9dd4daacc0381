//! Request extractors whose rejections are problem+json naming the offending field.

use crate::error::{ApiError, ErrorCode};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

/// A JSON body. Unknown fields, wrong types and missing fields become 422 with the
/// field's path; unparsable JSON is 400; a body over the limit is 413.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = json_bytes(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

/// The body of a JSON request: checks the media type and the size limit.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ));
    }
    Bytes::from_request(req, state).await.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(inner) if inner.status() == 413 => {
            ApiError::new(ErrorCode::PayloadTooLarge, inner.body_text())
        }
        other => ApiError::new(ErrorCode::BadRequest, other.body_text()),
    })
}

/// Parse a request body. Every body of this API is a JSON object; an array would
/// otherwise fill a struct's fields by position.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(ApiError::new(ErrorCode::MalformedJson, "the body is empty")),
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            return Err(ApiError::field("body", "must be a JSON object"));
        }
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::MalformedJson,
                "the body is not JSON",
            ))
        }
    }
    // PostgreSQL's text cannot hold NUL, and SQLite's LIKE stops at it: refused by name.
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
            if let Some(field) = nul_at(&v, "") {
                return Err(ApiError::field(&field, NUL_MESSAGE));
            }
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(ErrorCode::MalformedJson, inner.to_string())
        } else if let Err(broken) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            // A field error found before the text turned out not to be JSON at all
            // (`{"a":` is an unknown field, then the end): the body is what is wrong.
            ApiError::new(ErrorCode::MalformedJson, broken.to_string())
        } else {
            let message = inner.to_string();
            let path = offending_member(bytes, &path, &message).unwrap_or(path);
            field_error(&path, &message)
        }
    })?;
    // Trailing bytes after the value are malformed JSON too.
    de.end()
        .map_err(|e| ApiError::new(ErrorCode::MalformedJson, e.to_string()))?;
    Ok(value)
}

pub const NUL_MESSAGE: &str = "must not contain the NUL character";

/// The path of the first string (or member name) in `v` that holds a NUL character.
fn nul_at(v: &serde_json::Value, path: &str) -> Option<String> {
    let join = |name: &str| match path {
        "" => name.to_owned(),
        p => format!("{p}.{name}"),
    };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_at(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(members) => members.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "")))
            } else {
                nul_at(x, &join(k))
            }
        }),
        _ => None,
    }
}

/// The field of a request's address that holds a NUL (`%00`): `path`, or the query
/// parameter's name.
pub fn nul_in_uri(uri: &axum::http::Uri) -> Option<String> {
    if uri.path().contains("%00") {
        return Some("path".to_owned());
    }
    let query = uri.query()?;
    if !query.contains("%00") {
        return None;
    }
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| match k.replace('\0', "") {
            k if k.is_empty() => "query".to_owned(),
            k => k,
        })
}

/// An object read as a tagged variant (`{"type": "multiplier", "factor": 2}`) is buffered
/// whole before its variant is known, so serde reports a bad value inside it at the
/// object's path. The message quotes the value: when exactly one member of that object
/// holds it, that member is the field at fault.
fn offending_member(body: &[u8], path: &str, message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let rest = rest.split(" at line ").next().unwrap_or(rest);
    let matches: Box<dyn Fn(&serde_json::Value) -> bool> = if let Some(s) =
        rest.strip_prefix("string \"")
    {
        let quoted = s.rsplit_once("\", expected").map(|(q, _)| q)?.to_owned();
        Box::new(move |v| v.as_str() == Some(quoted.as_str()))
    } else {
        let (kind, after) = rest.split_once(" `")?;
        let literal = after.split('`').next()?.to_owned();
        match kind {
            "integer" => {
                let n: i128 = literal.parse().ok()?;
                Box::new(move |v| {
                    v.as_i64().map(i128::from) == Some(n) || v.as_u64().map(i128::from) == Some(n)
                })
            }
            "floating point" => Box::new(move |v| {
                v.is_f64() && v.as_f64().map(|f| f.to_string()) == Some(literal.clone())
            }),
            "boolean" => {
                Box::new(move |v| v.as_bool().map(|b| b.to_string()) == Some(literal.clone()))
            }
            _ => return None,
        }
    };
    let mut at: serde_json::Value = serde_json::from_slice(body).ok()?;
    if path != "." && !path.is_empty() {
        for segment in path.split('.') {
            let (name, indices) = match segment.find('[') {
                Some(i) => (&segment[..i], &segment[i..]),
                None => (segment, ""),
            };
            if !name.is_empty() {
                at = at.get_mut(name)?.take();
            }
            for index in indices.split('[').filter(|x| !x.is_empty()) {
                let i: usize = index.trim_end_matches(']').parse().ok()?;
                at = at.get_mut(i)?.take();
            }
        }
    }
    let object = at.as_object()?;
    let mut found = object.iter().filter(|(_, v)| matches(v)).map(|(k, _)| k);
    let key = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(if path == "." || path.is_empty() {
        key.clone()
    } else {
        format!("{path}.{key}")
    })
}

/// serde reports an unknown field at its parent's path; name the field itself.
fn field_error(path: &str, message: &str) -> ApiError {
    let message = message.split(" at line ").next().unwrap_or(message);
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    let missing = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("duplicate field `"))
        .and_then(|rest| rest.split('`').next());
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    // serde_path_to_error already ends the path with an unknown field's name; a missing
    // field is reported at its parent.
    let field = match (unknown, missing) {
        (Some(name), _) if path.ends_with(name) => path.to_owned(),
        (Some(name), _) | (None, Some(name)) => join(name),
        (None, None) if path == "." || path.is_empty() => "body".to_owned(),
        (None, None) => path.to_owned(),
    };
    let message = match unknown {
        Some(_) => "is not a known field".to_owned(),
        None => message.to_owned(),
    };
    ApiError::field(&field, message)
}

/// Query parameters, with the same field-naming rejections as [`Json`].
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|err| {
                let path = err.path().to_string();
                field_error(&path, &err.into_inner().to_string())
            })
    }
}

/// A JSON body of a write that moves value, with its `Idempotency-Key` (if sent) and a
/// fingerprint of the request: method, path and the body in canonical form (so key
/// order and whitespace do not make a retry look like a different request).
pub struct Idempotent<T> {
    pub body: T,
    pub key: Option<String>,
    pub fingerprint: String,
}

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Idempotent<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let mut keys = req.headers().get_all(IDEMPOTENCY_KEY).iter();
        let key = match keys.next() {
            None => None,
            // Two keys (a proxy adding its own, a client library doubling it): which one
            // the retry would carry is unknowable, so neither is guessed.
            Some(_) if keys.next().is_some() => {
                return Err(ApiError::field(
                    "Idempotency-Key",
                    "was sent more than once; send one key",
                ))
            }
            Some(v) => {
                let k = v.to_str().map(str::trim).unwrap_or("");
                check_key(k)?;
                Some(k.to_owned())
            }
        };
        let head = format!("{} {}", req.method(), req.uri().path());
        let bytes = json_bytes(req, state).await?;
        let body = parse_json::<T>(&bytes)?;
        // serde_json's map is ordered by key: re-serialising gives one canonical form.
        let canonical = parse_json::<serde_json::Value>(&bytes)?;
        Ok(Idempotent {
            body,
            key,
            fingerprint: fingerprint(&head, &canonical),
        })
    }
}

/// An idempotency key is 1 to 200 visible ASCII characters.
fn check_key(k: &str) -> Result<(), ApiError> {
    if k.is_empty() || k.len() > 200 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 200 visible ASCII characters",
        ));
    }
    Ok(())
}

/// A request's fingerprint: method and path, then the body in canonical form.
fn fingerprint(head: &str, canonical: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("{head}\n{canonical}").as_bytes()))
}

impl<T: DeserializeOwned> Idempotent<T> {
    /// The request the admin UI makes of an API handler: the body as the API would
    /// parse it, under `key`, fingerprinted exactly as a request over HTTP would be.
    pub fn of(
        method: &str,
        path: &str,
        body: serde_json::Value,
        key: Option<String>,
    ) -> Result<Self, ApiError> {
        if let Some(k) = &key {
            check_key(k)?;
        }
        let bytes =
            serde_json::to_vec(&body).map_err(|e| ApiError::internal("UI request body", e))?;
        Ok(Idempotent {
            body: parse_json::<T>(&bytes)?,
            key,
            fingerprint: fingerprint(&format!("{method} {path}"), &body),
        })
    }
}

impl<T> Idempotent<T> {
    /// The store's idempotency record for this request, keyed by the header or, failing
    /// that, by `fallback` (a receipt number that identifies the request by itself).
    pub fn idempotency(&self, fallback: Option<String>) -> Option<vafa_store::Idempotency> {
        self.key
            .clone()
            .map(|k| format!("key:{k}"))
            .or(fallback)
            .map(|key| vafa_store::Idempotency {
                key,
                fingerprint: self.fingerprint.clone(),
            })
    }
}
