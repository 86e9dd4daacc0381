//! CSV import of customers and purchases, shared by `vafa import` and the upload
//! endpoints.
//!
//! The file is read as a stream in batches. Every row is validated exactly as the API
//! validates a request; a bad row becomes rejects (line, field, reason) and the run goes
//! on. A row already in the program — a customer with the same external id, mobile or
//! national id; a purchase with the same external id (receipt number) — is left as it
//! is, so importing the same file twice changes nothing. Good rows are written through
//! [`vafa_store::history::Book`], one transaction per batch.
//!
//! Imported purchases are history: they count for analytics, RFM and tier spend, and earn
//! no points (their journal entry says `imported`). A customer's opening balance moves
//! over with the `points` column of the customer import.

use crate::api::customers::CustomerInput;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;
use vafa_core::money::Money;
use vafa_core::patch::Patch;
use vafa_store::history::{id_at, Book, PastPurchase, RefColumn};
use vafa_store::{Ctx, Program, PurchaseLine, Store, StoreError};

/// Rows per batch (one lookup round and one transaction each).
pub const BATCH: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Customers,
    Purchases,
}

impl std::str::FromStr for ImportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "customers" => Ok(ImportKind::Customers),
            "purchases" => Ok(ImportKind::Purchases),
            other => Err(format!("unknown import {other:?}: customers or purchases")),
        }
    }
}

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reject {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub rows: u64,
    pub imported: u64,
    /// Already in the program (same external id, mobile or national id; same receipt):
    /// left as they were.
    pub unchanged: u64,
    /// Rows with at least one reject.
    pub rejected: u64,
    /// Headers that named no field (their columns were not read).
    pub ignored_columns: Vec<String>,
    /// `[header, field]` pairs: which column fed which field.
    pub columns: Vec<(String, String)>,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole cannot be read (not CSV, no header, a required column missing).
    #[error("{field}: {reason}")]
    File { field: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn file_error(field: &str, reason: impl Into<String>) -> ImportError {
    ImportError::File {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

const CUSTOMER_FIELDS: &[(&str, &[&str])] = &[
    (
        "external_id",
        &[
            "external_id",
            "customer_code",
            "code",
            "customer_id",
            "کد_مشتری",
            "کد",
        ],
    ),
    (
        "first_name",
        &[
            "first_name",
            "firstname",
            "first",
            "given_name",
            "name",
            "نام",
        ],
    ),
    (
        "last_name",
        &[
            "last_name",
            "lastname",
            "surname",
            "family",
            "family_name",
            "نام_خانوادگی",
            "فامیلی",
        ],
    ),
    ("honorific", &["honorific", "title", "عنوان"]),
    (
        "mobile",
        &[
            "mobile",
            "phone",
            "cell",
            "mobile_number",
            "phone_number",
            "موبایل",
            "شماره_موبایل",
            "تلفن_همراه",
            "شماره_همراه",
            "همراه",
        ],
    ),
    ("email", &["email", "e_mail", "ایمیل"]),
    (
        "birth_date",
        &[
            "birth_date",
            "birthday",
            "dob",
            "date_of_birth",
            "تاریخ_تولد",
            "تولد",
        ],
    ),
    (
        "marriage_date",
        &[
            "marriage_date",
            "anniversary",
            "wedding_date",
            "سالگرد_ازدواج",
            "تاریخ_ازدواج",
        ],
    ),
    ("gender", &["gender", "sex", "جنسیت"]),
    ("city", &["city", "شهر"]),
    ("occupation", &["occupation", "job", "شغل"]),
    (
        "national_id",
        &["national_id", "national_code", "کد_ملی", "کدملی"],
    ),
    ("tags", &["tags", "tag", "برچسب", "برچسب_ها"]),
    (
        "sms_consent",
        &["sms_consent", "sms", "رضایت_پیامک", "پیامک"],
    ),
    ("email_consent", &["email_consent"]),
    (
        "points",
        &[
            "points",
            "balance",
            "opening_points",
            "امتیاز",
            "مانده_امتیاز",
        ],
    ),
];

const PURCHASE_FIELDS: &[(&str, &[&str])] = &[
    (
        "external_id",
        &[
            "external_id",
            "receipt",
            "receipt_number",
            "invoice",
            "invoice_number",
            "order_id",
            "شماره_فاکتور",
            "فاکتور",
            "شماره_رسید",
        ],
    ),
    ("customer_id", &["customer_id", "vafa_customer_id"]),
    (
        "customer_external_id",
        &["customer_external_id", "customer_code", "کد_مشتری"],
    ),
    (
        "mobile",
        &[
            "mobile",
            "phone",
            "customer_mobile",
            "موبایل",
            "شماره_موبایل",
            "تلفن_همراه",
        ],
    ),
    (
        "occurred_at",
        &[
            "occurred_at",
            "date",
            "datetime",
            "time",
            "purchased_at",
            "تاریخ",
            "زمان",
            "تاریخ_خرید",
        ],
    ),
    (
        "total",
        &[
            "total",
            "amount",
            "sum",
            "total_amount",
            "مبلغ",
            "جمع",
            "مبلغ_کل",
        ],
    ),
    // In minor units, as `vafa export purchases` writes it.
    ("total_minor", &["total_minor"]),
    ("store", &["store", "branch", "shop", "شعبه", "فروشگاه"]),
    ("channel", &["channel", "کانال"]),
    ("sku", &["sku", "product_code", "کد_کالا"]),
    (
        // Not a bare "name": in a sales file it is as often the customer's name, which
        // would become a product (`--map name=name` reads it as the line's).
        "name",
        &[
            "item",
            "product",
            "item_name",
            "product_name",
            "کالا",
            "نام_کالا",
        ],
    ),
    ("category", &["category", "دسته", "دسته_بندی"]),
    ("quantity", &["quantity", "qty", "تعداد"]),
    ("unit_price", &["unit_price", "price", "قیمت", "قیمت_واحد"]),
];

fn fields(kind: ImportKind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        ImportKind::Customers => CUSTOMER_FIELDS,
        ImportKind::Purchases => PURCHASE_FIELDS,
    }
}

/// The field names an import of `kind` reads.
pub fn field_names(kind: ImportKind) -> Vec<&'static str> {
    fields(kind).iter().map(|f| f.0).collect()
}

/// `Header=field` pairs, as `--map` and `?map=` give them.
pub fn parse_mapping<'a>(
    pairs: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, String> {
    pairs
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((h, f)) if !h.trim().is_empty() && !f.trim().is_empty() => {
                Ok((h.trim().to_owned(), f.trim().to_owned()))
            }
            _ => Err(format!("{pair:?} is not Header=field")),
        })
        .collect()
}

fn normalize_header(h: &str) -> String {
    let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
    let mut out = String::with_capacity(h.len());
    for c in h.chars() {
        match c {
            ' ' | '-' | '\u{200c}' | '.' => out.push('_'),
            _ => out.push(c),
        }
    }
    out
}

/// Which column feeds which field: `mapping` (header → field) first, then the known
/// names of each field in English and Persian.
fn column_map(
    kind: ImportKind,
    headers: &csv::StringRecord,
    mapping: &[(String, String)],
) -> Result<(HashMap<&'static str, usize>, Vec<String>), ImportError> {
    let known = fields(kind);
    let mut map: HashMap<&'static str, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let norm = normalize_header(h);
        let explicit = mapping
            .iter()
            .find(|(from, _)| normalize_header(from) == norm)
            .map(|(_, to)| to.as_str());
        let field = match explicit {
            Some(to) => match known.iter().find(|f| f.0 == to) {
                Some(f) => Some(f.0),
                None => {
                    return Err(file_error(
                        "map",
                        format!(
                            "{to:?} is not a field of this import; fields: {}",
                            field_names(kind).join(", ")
                        ),
                    ))
                }
            },
            None => known
                .iter()
                .find(|f| f.1.contains(&norm.as_str()))
                .map(|f| f.0),
        };
        match field {
            Some(f) if !map.contains_key(f) => {
                map.insert(f, i);
            }
            _ => ignored.push(h.to_owned()),
        }
    }
    for (from, _) in mapping {
        if !headers
            .iter()
            .any(|h| normalize_header(h) == normalize_header(from))
        {
            return Err(file_error(
                "map",
                format!("the file has no column {from:?}"),
            ));
        }
    }
    Ok((map, ignored))
}

struct Row<'a> {
    line: u64,
    record: &'a csv::StringRecord,
    map: &'a HashMap<&'static str, usize>,
}

impl Row<'_> {
    fn get(&self, field: &str) -> Option<&str> {
        self.map
            .get(field)
            .and_then(|i| self.record.get(*i))
            .map(str::trim)
            // The `'` an export puts before text a spreadsheet would run as a formula.
            .map(|s| match s.strip_prefix('\'') {
                Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
                _ => s,
            })
            .filter(|s| !s.is_empty())
    }
}

/// Import a CSV stream into the program of `ctx`. `on_reject` hears every reject as it
/// is found; `progress` hears the rows read so far after each batch.
pub async fn import_csv<R: std::io::Read>(
    store: &dyn Store,
    ctx: &Ctx,
    kind: ImportKind,
    reader: R,
    mapping: &[(String, String)],
    on_reject: &mut (dyn FnMut(&Reject) + Send),
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportSummary, ImportError> {
    let started = std::time::Instant::now();
    let program = store
        .get_program(&ctx.program_id)
        .await?
        .ok_or(StoreError::NotFound("program"))?;
    let settings = store.ledger_settings(&ctx.program_id).await?;
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| file_error("file", format!("not readable as CSV: {e}")))?
        .clone();
    let (map, ignored) = column_map(kind, &headers, mapping)?;
    match kind {
        ImportKind::Customers => {}
        ImportKind::Purchases => {
            for need in ["external_id", "occurred_at", "total"] {
                let given =
                    map.contains_key(need) || (need == "total" && map.contains_key("total_minor"));
                if !given {
                    return Err(file_error(need, "no column for this field (see --map)"));
                }
            }
            if !["customer_id", "customer_external_id", "mobile"]
                .iter()
                .any(|f| map.contains_key(f))
            {
                return Err(file_error(
                    "customer",
                    "no column names the customer: customer_id, customer_external_id or mobile",
                ));
            }
        }
    }
    let mut summary = ImportSummary {
        ignored_columns: ignored,
        columns: {
            let mut c: Vec<(String, String)> = map
                .iter()
                .map(|(f, i)| {
                    (
                        headers.get(*i).unwrap_or_default().to_owned(),
                        (*f).to_owned(),
                    )
                })
                .collect();
            c.sort();
            c
        },
        ..Default::default()
    };
    let mut batch: Vec<(u64, csv::StringRecord)> = Vec::with_capacity(BATCH);
    // Keys seen earlier in this file: a later row with the same key is a duplicate.
    let mut seen = Seen::default();
    let mut records = csv.into_records();
    let mut batches = 0u64;
    loop {
        let next = records.next();
        let done = next.is_none();
        if let Some(r) = next {
            match r {
                Ok(record) => {
                    let line = record.position().map_or(0, |p| p.line());
                    // No field an import reads holds a line break: one that does is a
                    // quote opened and never closed, which swallowed the lines after
                    // it into one field. So is a row cut short with a break in a column
                    // not read (a quote that ran to the end of the file). Say so, with
                    // the lines it took, rather than import a name made of rows or
                    // reject it as merely too long. (A complete row may carry a
                    // multi-line note in a column the import does not read.)
                    let read = |i: usize| map.values().any(|&j| j == i);
                    let broken = |f: &str| f.contains('\n') || f.contains('\r');
                    let swallowed = record.iter().enumerate().any(|(i, f)| broken(f) && read(i))
                        || (record.len() < headers.len() && record.iter().any(broken));
                    let breaks: usize = record
                        .iter()
                        .map(|f| f.trim_end_matches(['\r', '\n']).matches('\n').count())
                        .sum();
                    if swallowed {
                        summary.rows += 1;
                        summary.rejected += 1;
                        on_reject(&Reject {
                            line,
                            field: "row".into(),
                            reason: format!(
                                "a quote (\") opened on line {line} is not closed where its field ends: lines {line} to {} were read as this one row; nothing of them was imported",
                                line + breaks as u64
                            ),
                        });
                        continue;
                    }
                    batch.push((line, record));
                }
                Err(e) => {
                    summary.rows += 1;
                    summary.rejected += 1;
                    let line = e.position().map_or(0, |p| p.line());
                    on_reject(&Reject {
                        line,
                        field: "row".into(),
                        reason: format!("not readable as CSV: {e}"),
                    });
                }
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let rows: Vec<Row> = batch
                .iter()
                .map(|(line, record)| Row {
                    line: *line,
                    record,
                    map: &map,
                })
                .collect();
            summary.rows += rows.len() as u64;
            // Someone may register the same mobile (or record the same receipt) between
            // the lookups and the write: then the batch is looked up and written again,
            // and the newcomer's row counts as already there.
            let mut attempt = 0;
            let (imported, unchanged, rejects) = loop {
                attempt += 1;
                let mut book = Book::new(&program, settings.clone(), None, ctx.now)?;
                let outcome = match kind {
                    ImportKind::Customers => {
                        customers(store, ctx, &mut book, &rows, &mut seen).await?
                    }
                    ImportKind::Purchases => {
                        purchases(store, ctx, &program, &mut book, &rows, &mut seen).await?
                    }
                };
                let written = book
                    .take(ctx.now)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                match store.write_history(ctx, &written).await {
                    Ok(()) => {
                        seen.keep();
                        break outcome;
                    }
                    Err(
                        StoreError::DuplicateMobile
                        | StoreError::DuplicateExternalId
                        | StoreError::DuplicateNationalId
                        | StoreError::DuplicatePurchase,
                    ) if attempt < 3 => seen.forget(),
                    Err(e) => return Err(e.into()),
                }
            };
            batches += 1;
            // A table that grew from nothing in one run has stale statistics, and a
            // planner that believes it small scans it for every lookup: refresh them as
            // it doubles (after batches 1, 2, 4, 8 …).
            if batches.is_power_of_two() {
                store.refresh_statistics().await?;
            }
            summary.imported += imported;
            summary.unchanged += unchanged;
            let mut bad_lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
            bad_lines.dedup();
            summary.rejected += bad_lines.len() as u64;
            for r in &rejects {
                on_reject(r);
            }
            drop(rows);
            batch.clear();
            progress(summary.rows);
        }
        if done {
            break;
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Keys of rows already taken from this file (so a repeat is rejected): those written,
/// and those of the batch being written, kept apart so a batch can be tried again.
#[derive(Default)]
struct Seen {
    written: HashMap<(u8, String), u64>,
    batch: HashMap<(u8, String), u64>,
}

impl Seen {
    fn get(&self, key: &(u8, String)) -> Option<&u64> {
        self.written.get(key).or_else(|| self.batch.get(key))
    }
    fn insert(&mut self, key: (u8, String), line: u64) {
        self.batch.insert(key, line);
    }
    fn keep(&mut self) {
        self.written.extend(self.batch.drain());
    }
    fn forget(&mut self) {
        self.batch.clear();
    }
}

/// A yes/no cell in English or Persian.
fn yes_no(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "بله" | "آری" | "دارد" => Some(true),
        "0" | "false" | "no" | "n" | "خیر" | "نه" | "ندارد" => Some(false),
        _ => None,
    }
}

fn gender(s: &str) -> String {
    match s.trim().to_lowercase().as_str() {
        "m" | "male" | "man" | "مرد" | "آقا" => "male".into(),
        "f" | "female" | "woman" | "زن" | "خانم" => "female".into(),
        other => other.to_owned(),
    }
}

type Outcome = (u64, u64, Vec<Reject>);

async fn customers(
    store: &dyn Store,
    ctx: &Ctx,
    book: &mut Book,
    rows: &[Row<'_>],
    seen: &mut Seen,
) -> Result<Outcome, ImportError> {
    let today: Date = ctx.now.to_zoned(TimeZone::UTC).date();
    let mut rejects = Vec::new();
    let mut good = Vec::new();
    for row in rows {
        let mut obj = serde_json::Map::new();
        for f in [
            "external_id",
            "first_name",
            "last_name",
            "honorific",
            "mobile",
            "email",
            "birth_date",
            "marriage_date",
            "city",
            "occupation",
            "national_id",
        ] {
            if let Some(v) = row.get(f) {
                obj.insert(f.into(), v.into());
            }
        }
        if let Some(g) = row.get("gender") {
            obj.insert("gender".into(), gender(g).into());
        }
        if let Some(t) = row.get("tags") {
            let tags: Vec<serde_json::Value> = t
                .split([';', '|', '،', ','])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| t.into())
                .collect();
            obj.insert("tags".into(), tags.into());
        }
        let mut errs = Vec::new();
        let mut consent = serde_json::Map::new();
        for (field, channel) in [("sms_consent", "sms"), ("email_consent", "email")] {
            if let Some(v) = row.get(field) {
                match yes_no(v) {
                    Some(granted) => {
                        consent.insert(
                            channel.into(),
                            serde_json::json!({"granted": granted, "source": "import"}),
                        );
                    }
                    None => errs.push((
                        field.to_owned(),
                        "expected yes or no (1/0, true/false, بله/خیر)".to_owned(),
                    )),
                }
            }
        }
        if !consent.is_empty() {
            obj.insert("consent".into(), consent.into());
        }
        let points = match row
            .get("points")
            .map(|p| vafa_core::money::ungroup(vafa_core::digits::normalize_digits(p).trim()))
        {
            None => 0,
            // "1,000" and "۱٬۰۰۰" are a thousand; "1,0,0" is not a number of points.
            Some(p) => match p.as_deref().map(str::parse::<i64>) {
                Some(Ok(n)) if (0..=1_000_000_000).contains(&n) => n,
                _ => {
                    errs.push((
                        "points".into(),
                        "a whole number of points from 0 to 1000000000".into(),
                    ));
                    0
                }
            },
        };
        let input: Result<CustomerInput, _> =
            serde_json::from_value(serde_json::Value::Object(obj));
        let patch = match input
            .map_err(|e| e.to_string())
            .map(|i| i.into_patch(today))
        {
            Ok(Ok(p)) => Some(p),
            Ok(Err(fe)) => {
                for e in fe.0 {
                    errs.push((e.field, e.message));
                }
                None
            }
            Err(e) => {
                errs.push(("row".into(), e));
                None
            }
        };
        if let Some(p) = &patch {
            if !crate::api::customers::has_identity(p) {
                errs.push((
                    "mobile".into(),
                    "a customer needs a mobile, a name, an email or an external id".into(),
                ));
            }
        }
        match (patch, errs.is_empty()) {
            (Some(p), true) => good.push((row.line, p, points)),
            _ => rejects.extend(errs.into_iter().map(|(field, reason)| Reject {
                line: row.line,
                field,
                reason,
            })),
        }
    }
    // What the program already holds, by each unique key.
    let keys = |f: fn(&vafa_core::customer::ProfilePatch) -> Option<String>| -> Vec<String> {
        good.iter().filter_map(|(_, p, _)| f(p)).collect()
    };
    let ext_of = |p: &vafa_core::customer::ProfilePatch| match &p.external_id {
        Patch::Value(v) => Some(v.clone()),
        _ => None,
    };
    let mob_of = |p: &vafa_core::customer::ProfilePatch| match &p.mobile {
        Patch::Value(m) => Some(m.as_e164().to_owned()),
        _ => None,
    };
    let nid_of = |p: &vafa_core::customer::ProfilePatch| match &p.national_id {
        Patch::Value(n) => Some(n.as_str().to_owned()),
        _ => None,
    };
    let by_ext = store
        .refs(
            &ctx.program_id,
            RefColumn::CustomerExternalId,
            &keys(ext_of),
        )
        .await?;
    let by_mob = store
        .refs(&ctx.program_id, RefColumn::CustomerMobile, &keys(mob_of))
        .await?;
    let by_nid = store
        .refs(
            &ctx.program_id,
            RefColumn::CustomerNationalId,
            &keys(nid_of),
        )
        .await?;
    let (mut imported, mut unchanged) = (0, 0);
    for (line, patch, points) in good {
        let ids = [
            (0u8, "external_id", ext_of(&patch)),
            (1, "mobile", mob_of(&patch)),
            (2, "national_id", nid_of(&patch)),
        ];
        let taken = |k: u8, v: &String| match k {
            0 => by_ext.contains_key(v),
            1 => by_mob.contains_key(v),
            _ => by_nid.contains_key(v),
        };
        // A key an earlier row of this file had is a duplicate, even when that row's batch
        // is already written (else it would read as "already there").
        let dup = ids.iter().find_map(|(k, f, v)| {
            v.as_ref()
                .and_then(|v| seen.get(&(*k, v.clone())).map(|l| (*f, *l)))
        });
        if let Some((field, first)) = dup {
            rejects.push(Reject {
                line,
                field: field.into(),
                reason: format!("the same as line {first}"),
            });
            continue;
        }
        // The row's own key says whether it is already there: its external id when it
        // has one, else its mobile. Another key held by someone else is a clash.
        let own = if ids[0].2.is_some() { 0 } else { 1 };
        if ids[own].2.as_ref().is_some_and(|v| taken(own as u8, v)) {
            unchanged += 1;
            continue;
        }
        if let Some((_, field, _)) = ids
            .iter()
            .find(|(k, _, v)| v.as_ref().is_some_and(|v| taken(*k, v)))
        {
            rejects.push(Reject {
                line,
                field: (*field).into(),
                reason: "another customer of this program already has it".into(),
            });
            continue;
        }
        for (k, _, v) in &ids {
            if let Some(v) = v {
                seen.insert((*k, v.clone()), line);
            }
        }
        let mut c = vafa_core::customer::Customer::new(
            id_at("cus", ctx.now),
            ctx.program_id.clone(),
            ctx.now,
        );
        c.apply(patch, ctx.now);
        let id = c.id.clone();
        book.add_customer(c);
        if points > 0 {
            book.credit(&id, points, ctx.now, "opening balance (import)")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        }
        imported += 1;
    }
    rejects.sort_by_key(|r| r.line);
    Ok((imported, unchanged, rejects))
}

/// A time in the program's zone: RFC 3339 with an offset, or a local ISO or Jalali date
/// with an optional time (`2026-01-05 14:30`, `1404/10/15 14:30`), between the years
/// 1900 and 2200 (so that arithmetic on it cannot leave jiff's range).
pub(crate) fn parse_time(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let t = parse_any_time(s, tz)?;
    // The year as the program reads it: local midnight of 1900-01-01 is still 1899 in UTC.
    let year = t.to_zoned(tz.clone()).year();
    if !(1900..=2200).contains(&year) {
        return Err("must be between the years 1900 and 2200".to_owned());
    }
    Ok(t)
}

fn parse_any_time(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let s = vafa_core::digits::normalize_digits(s.trim());
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s.as_str(), None),
    };
    let date =
        vafa_core::date::parse_calendar_date(date).map_err(|e| format!("not a date: {e}"))?;
    let time = match time {
        None | Some("") => jiff::civil::Time::midnight(),
        Some(t) => {
            let t = if t.len() == 5 {
                format!("{t}:00")
            } else {
                t.to_owned()
            };
            t.parse::<jiff::civil::Time>()
                .map_err(|e| format!("not a time of day: {e}"))?
        }
    };
    date.to_datetime(time)
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

async fn purchases(
    store: &dyn Store,
    ctx: &Ctx,
    program: &Program,
    book: &mut Book,
    rows: &[Row<'_>],
    seen: &mut Seen,
) -> Result<Outcome, ImportError> {
    let tz = TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut rejects = Vec::new();
    struct Good {
        line: u64,
        who: (RefColumn, String),
        sale: PastPurchase,
    }
    let mut good = Vec::new();
    for row in rows {
        let mut errs: Vec<(&str, String)> = Vec::new();
        let external_id = match row.get("external_id") {
            Some(e) if e.chars().count() <= 100 => Some(e.to_owned()),
            Some(_) => {
                errs.push(("external_id", "at most 100 characters".into()));
                None
            }
            None => {
                errs.push((
                    "external_id",
                    "required: the receipt number makes a re-import safe".into(),
                ));
                None
            }
        };
        // One way of naming the customer, as the API asks: two that disagree would
        // quietly give the sale to one of them.
        let ways = ["customer_id", "customer_external_id", "mobile"]
            .iter()
            .filter(|f| row.get(f).is_some())
            .count();
        if ways > 1 {
            errs.push((
                "customer",
                "name the customer one way only: customer_id, customer_external_id or mobile"
                    .into(),
            ));
        }
        let who = if let Some(id) = row.get("customer_id") {
            Some((RefColumn::CustomerId, id.to_owned()))
        } else if let Some(ext) = row.get("customer_external_id") {
            Some((RefColumn::CustomerExternalId, ext.to_owned()))
        } else if let Some(m) = row.get("mobile") {
            match vafa_core::mobile::Mobile::parse(m) {
                Ok(m) => Some((RefColumn::CustomerMobile, m.as_e164().to_owned())),
                Err(e) => {
                    errs.push(("mobile", e.to_string()));
                    None
                }
            }
        } else {
            errs.push((
                "customer",
                "required: customer_id, customer_external_id or mobile".into(),
            ));
            None
        };
        let occurred_at = match row.get("occurred_at").map(|s| parse_time(s, &tz)) {
            Some(Ok(t)) if t <= ctx.now => Some(t),
            Some(Ok(_)) => {
                errs.push(("occurred_at", "in the future".into()));
                None
            }
            Some(Err(e)) => {
                errs.push(("occurred_at", e));
                None
            }
            None => {
                errs.push(("occurred_at", "required".into()));
                None
            }
        };
        let money = |field: &'static str, errs: &mut Vec<(&str, String)>| -> Option<i64> {
            row.get(field)
                .and_then(|v| match Money::parse(v, program.currency) {
                    Ok(m) => Some(m.amount_minor),
                    Err(e) => {
                        errs.push((field, e.to_string()));
                        None
                    }
                })
        };
        let total = match row
            .get("total_minor")
            .filter(|_| row.get("total").is_none())
        {
            Some(m) => match vafa_core::digits::normalize_digits(m).parse::<i64>() {
                Ok(v) if (0..=vafa_core::money::MAX_AMOUNT_MINOR).contains(&v) => Some(v),
                _ => {
                    errs.push((
                        "total_minor",
                        "a whole number of minor units, from 0 to 100000000000000".into(),
                    ));
                    None
                }
            },
            None => {
                let t = money("total", &mut errs);
                if t.is_none() && row.get("total").is_none() {
                    errs.push(("total", "required".into()));
                }
                t
            }
        };
        let mut lines = Vec::new();
        if row.get("sku").is_some() || row.get("name").is_some() || row.get("unit_price").is_some()
        {
            let quantity = match row
                .get("quantity")
                .map(|q| vafa_core::digits::normalize_digits(q).parse::<i64>())
            {
                None => Some(1),
                Some(Ok(q)) if (1..=100_000).contains(&q) => Some(q),
                Some(_) => {
                    errs.push(("quantity", "a whole number from 1 to 100000".into()));
                    None
                }
            };
            let unit =
                money("unit_price", &mut errs).or_else(|| total.zip(quantity).map(|(t, q)| t / q));
            if let (Some(quantity), Some(unit_price_minor)) = (quantity, unit) {
                lines.push(PurchaseLine {
                    sku: row.get("sku").map(str::to_owned),
                    name: row.get("name").map(str::to_owned),
                    category: row.get("category").map(str::to_owned),
                    quantity,
                    unit_price_minor,
                });
            }
        }
        for (field, max) in [("store", 100), ("channel", 40)] {
            if row.get(field).is_some_and(|v| v.chars().count() > max) {
                errs.push((field, format!("at most {max} characters")));
            }
        }
        match (external_id, who, occurred_at, total, errs.is_empty()) {
            (Some(external_id), Some(who), Some(occurred_at), Some(total_minor), true) => good
                .push(Good {
                    line: row.line,
                    who,
                    sale: PastPurchase {
                        customer_id: String::new(),
                        external_id: Some(external_id),
                        store: row.get("store").map(str::to_owned),
                        channel: row.get("channel").map(str::to_owned),
                        lines,
                        total_minor,
                        occurred_at,
                        earn: false,
                    },
                }),
            _ => rejects.extend(errs.into_iter().map(|(field, reason)| Reject {
                line: row.line,
                field: field.into(),
                reason,
            })),
        }
    }
    let mut lookups: HashMap<RefColumn, HashMap<String, String>> = HashMap::new();
    for col in [
        RefColumn::CustomerId,
        RefColumn::CustomerExternalId,
        RefColumn::CustomerMobile,
    ] {
        let values: Vec<String> = good
            .iter()
            .filter(|g| g.who.0 == col)
            .map(|g| g.who.1.clone())
            .collect();
        if !values.is_empty() {
            lookups.insert(col, store.refs(&ctx.program_id, col, &values).await?);
        }
    }
    let receipts: Vec<String> = good
        .iter()
        .filter_map(|g| g.sale.external_id.clone())
        .collect();
    let recorded = store
        .refs(&ctx.program_id, RefColumn::PurchaseExternalId, &receipts)
        .await?;
    let (mut imported, mut unchanged) = (0, 0);
    for mut g in good {
        let receipt = g.sale.external_id.clone().unwrap_or_default();
        let Some(customer_id) = lookups.get(&g.who.0).and_then(|m| m.get(&g.who.1)) else {
            let field = match g.who.0 {
                RefColumn::CustomerId => "customer_id",
                RefColumn::CustomerExternalId => "customer_external_id",
                _ => "mobile",
            };
            rejects.push(Reject {
                line: g.line,
                field: field.into(),
                reason: "no customer of this program has it (import the customers first)".into(),
            });
            continue;
        };
        // Before "already there": an earlier row's batch may be written already.
        if let Some(first) = seen.get(&(9, receipt.clone())) {
            rejects.push(Reject {
                line: g.line,
                field: "external_id".into(),
                reason: format!("the same receipt as line {first}"),
            });
            continue;
        }
        match recorded.get(&receipt) {
            Some(owner) if owner == customer_id => {
                unchanged += 1;
                continue;
            }
            Some(_) => {
                rejects.push(Reject {
                    line: g.line,
                    field: "external_id".into(),
                    reason: "this receipt is recorded for another customer".into(),
                });
                continue;
            }
            None => {}
        }
        seen.insert((9, receipt), g.line);
        g.sale.customer_id = customer_id.clone();
        book.add_known_customer(customer_id);
        book.purchase(g.sale)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        imported += 1;
    }
    rejects.sort_by_key(|r| r.line);
    Ok((imported, unchanged, rejects))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_recognised_in_persian_and_english() {
        let h = csv::StringRecord::from(vec![
            "نام",
            "نام خانوادگی",
            "شماره موبایل",
            "Birthday",
            "Shoe size",
        ]);
        let (map, ignored) = column_map(ImportKind::Customers, &h, &[]).unwrap();
        assert_eq!(map["first_name"], 0);
        assert_eq!(map["last_name"], 1);
        assert_eq!(map["mobile"], 2);
        assert_eq!(map["birth_date"], 3);
        assert_eq!(ignored, vec!["Shoe size".to_owned()]);
        let (map, _) = column_map(
            ImportKind::Customers,
            &h,
            &[("Shoe size".into(), "occupation".into())],
        )
        .unwrap();
        assert_eq!(map["occupation"], 4);
        assert!(column_map(
            ImportKind::Customers,
            &h,
            &[("Shoe size".into(), "shoe".into())]
        )
        .is_err());
        assert!(column_map(ImportKind::Customers, &h, &[("Hat".into(), "city".into())]).is_err());
        // A purchase line's columns; a bare "name" is not taken for the product's.
        let h = csv::StringRecord::from(vec!["sku", "name", "item_name", "quantity", "unit_price"]);
        let (map, ignored) = column_map(ImportKind::Purchases, &h, &[]).unwrap();
        assert_eq!((map["name"], ignored), (2, vec!["name".to_owned()]));
    }

    #[test]
    fn times_read_in_the_program_zone() {
        let tz = TimeZone::get("Asia/Tehran").unwrap();
        let a = parse_time("2026-01-05 14:30", &tz).unwrap();
        assert_eq!(a.to_string(), "2026-01-05T11:00:00Z");
        let b = parse_time("۱۴۰۴/۱۰/۱۵ ۱۴:۳۰", &tz).unwrap();
        assert_eq!(b, a);
        assert_eq!(parse_time("2026-01-05T11:00:00Z", &tz).unwrap(), a);
        assert!(parse_time("yesterday", &tz).is_err());
        assert!(parse_time("2026-01-05 25:00", &tz).is_err());
        // Far-off years are refused before anything does arithmetic on them.
        assert!(parse_time("-009999-01-02T02:00:00Z", &tz).is_err());
        assert!(parse_time("9999-12-31T00:00:00Z", &tz).is_err());
        assert!(parse_time("1899-12-31", &tz).is_err());
        assert!(
            parse_time("1900-01-01", &tz).is_ok(),
            "from 1900 on, in the program's zone"
        );
    }
}
