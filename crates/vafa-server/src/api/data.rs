//! `/api/v1/imports/{kind}` (CSV upload) and `/api/v1/exports/{table}` (streamed CSV or
//! JSON lines). See `docs/import-export.md`.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::export::{self, Format};
use crate::extract::Query;
use crate::import::{self, ImportKind, ImportSummary, Reject};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vafa_store::history::ExportTable;
use vafa_store::Ctx;

/// The largest CSV an upload takes; bigger files go through `vafa import`.
pub const IMPORT_LIMIT_BYTES: usize = 64 * 1024 * 1024;
/// Rejects listed in an upload's answer (all are counted).
pub const REJECTS_SHOWN: usize = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Columns to fields where the headers are not recognised: `Header=field`, comma
    /// separated, e.g. `شماره=mobile,Card holder=first_name`.
    pub map: Option<String>,
}

/// The import's summary (`rows`, `imported`, `unchanged`, `rejected`, `ignored_columns`,
/// `columns`, `seconds`) with its first rejects.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// The first rejects: line (the header is line 1), field, reason.
    pub rejects: Vec<Reject>,
    pub rejects_total: u64,
}

fn import_error(e: import::ImportError) -> ApiError {
    match e {
        import::ImportError::File { field, reason } => ApiError::field(&field, reason),
        import::ImportError::Store(s) => s.into(),
    }
}

/// Import customers or purchases from a CSV body (UTF-8, a header row). Bad rows are
/// rejected one by one and the rest imported; rows already in the program are left as
/// they are, so a re-upload changes nothing. Imported purchases are history and earn no
/// points; a customer's `points` column is an opening balance.
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "data",
    params(("kind" = String, Path, description = "customers or purchases"), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportResult), (status = 413), (status = 415), (status = 422)),
    security(("api_key" = ["data.import"])))]
pub async fn import_csv(
    State(state): State<AppState>,
    auth: Auth,
    Path(kind): Path<String>,
    Query(q): Query<ImportQuery>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> ApiResult<axum::Json<ImportResult>> {
    // A CSV file, however the sender labels one; JSON or a form is a mistaken upload
    // that would otherwise be read as one odd column.
    let media = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref().is_some_and(|m| {
        !matches!(
            m,
            "text/csv"
                | "application/csv"
                | "text/plain"
                | "application/vnd.ms-excel"
                | "application/octet-stream"
                | ""
        )
    }) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: text/csv",
        ));
    }
    let kind: ImportKind = kind
        .parse()
        .map_err(|e: String| ApiError::field("kind", e))?;
    let mapping = import::parse_mapping(q.map.as_deref().unwrap_or("").split(','))
        .map_err(|e| ApiError::field("map", e))?;
    let bytes = axum::body::to_bytes(body, IMPORT_LIMIT_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "an upload takes at most {} MiB; use `vafa import` for larger files",
                    IMPORT_LIMIT_BYTES >> 20
                ),
            )
        })?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(ApiError::field(
            "file",
            "not UTF-8 text; save the CSV as UTF-8",
        ));
    }
    let ctx = Ctx {
        program_id: auth.program_id().to_owned(),
        actor: auth.0.actor(),
        now: state.clock.now(),
    };
    let mut rejects = Vec::new();
    let mut total = 0u64;
    let mut keep = |r: &Reject| {
        total += 1;
        if rejects.len() < REJECTS_SHOWN {
            rejects.push(r.clone());
        }
    };
    let summary: ImportSummary = import::import_csv(
        state.store.as_ref(),
        &ctx,
        kind,
        &bytes[..],
        &mapping,
        &mut keep,
        &|_| {},
    )
    .await
    .map_err(import_error)?;
    Ok(axum::Json(ImportResult {
        summary,
        rejects,
        rejects_total: total,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` (default; UTF-8 with a byte-order mark) or `jsonl`.
    pub format: Option<String>,
}

/// Every customer, purchase or ledger posting of the program, streamed a page at a time
/// in id order. Times are RFC 3339; money is in minor units.
#[utoipa::path(get, path = "/api/v1/exports/{table}", tag = "data",
    params(("table" = String, Path, description = "customers, purchases or ledger"), ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or JSON lines with format=jsonl"), (status = 422)),
    security(("api_key" = ["data.export"])))]
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Path(table): Path<String>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let table: ExportTable = table
        .parse()
        .map_err(|e: String| ApiError::field("table", e))?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("csv")
        .parse()
        .map_err(|e: String| ApiError::field("format", e))?;
    let program_id = auth.program_id().to_owned();
    let store = state.store.clone();
    // The first page is read before answering, so a failing store is a problem+json.
    let mut cursor = String::new();
    let first = export::next_page(store.as_ref(), &program_id, table, format, &mut cursor).await?;
    let mut head = export::head(table, format);
    let more = first.is_some();
    if let Some((bytes, _)) = first {
        head.extend(bytes);
    }
    let rest = futures_util::stream::unfold(
        (store, program_id, cursor, more),
        move |(store, program_id, mut cursor, more)| async move {
            if !more {
                return None;
            }
            match export::next_page(store.as_ref(), &program_id, table, format, &mut cursor).await {
                Ok(Some((bytes, _))) => Some((Ok(bytes), (store, program_id, cursor, true))),
                Ok(None) => None,
                Err(e) => {
                    // Mid-stream the status is sent: cut the body so the client sees a
                    // truncated download, never a silently short file.
                    tracing::error!(error = %e, "export failed mid-stream");
                    Some((
                        Err(std::io::Error::other(e.to_string())),
                        (store, program_id, cursor, false),
                    ))
                }
            }
        },
    );
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) }),
        rest,
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let ext = if format == Format::Csv {
        "csv"
    } else {
        "jsonl"
    };
    let name = match table {
        ExportTable::Customers => "customers",
        ExportTable::Purchases => "purchases",
        ExportTable::Ledger => "ledger",
    };
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, Body::from_stream(body)).into_response())
}
