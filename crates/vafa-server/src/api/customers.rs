//! `/api/v1/customers`: register, find, read, update, erase and merge customers.

use crate::api::cards::CardList;
use crate::api::money::MoneyDto;
use crate::api::purchases::program_currency;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::card::CardNumber;
use vafa_core::customer::{
    parse_life_date, Attributes, Channel, Consent, ConsentChange, Customer, CustomerStatus,
    ProfilePatch, Tag,
};
use vafa_core::mobile::Mobile;
use vafa_core::national_id::NationalId;
use vafa_core::patch::Patch;
use vafa_core::{validate, FieldErrors};
use vafa_store::{CustomerQuery, PageRequest};

/// A customer profile, as sent on create (all optional, at least one way to reach or
/// identify the customer) and on update (`null` clears a field, a missing key keeps it).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub first_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub last_name: Patch<String>,
    /// `mr`, `ms`, `dr` or `eng` (آقای، خانم، دکتر، مهندس).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub honorific: Patch<String>,
    /// Any usual Iranian form: 09121234567, 9121234567, +989121234567, 00989121234567, Persian digits.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "۰۹۱۲۱۲۳۴۵۶۷")]
    pub mobile: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    /// ISO `1991-08-03` or Jalali `1370/05/12` (Persian digits accepted).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "1370/05/12")]
    pub birth_date: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub marriage_date: Patch<String>,
    /// `female`, `male` or `other`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub gender: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub city: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub occupation: Patch<String>,
    /// کد ملی: 10 digits with a valid check digit.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub national_id: Patch<String>,
    /// The customer's id in another system (POS, shop), unique per program.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: Patch<String>,
    /// Custom attributes: a JSON object of at most 8 KiB.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attributes: Patch<serde_json::Value>,
    /// Replaces the tag set.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// `active` or `blocked`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub consent: Option<ConsentInput>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub sms: Option<ConsentValue>,
    pub email: Option<ConsentValue>,
    pub call: Option<ConsentValue>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentValue {
    pub granted: bool,
    /// Where consent was given or withdrawn: `pos`, `web`, `call`, … (default `api`).
    pub source: Option<String>,
}

/// Converts one optional text field, collecting its error under its name.
struct Conv<'a> {
    errs: &'a mut FieldErrors,
}

impl Conv<'_> {
    fn text(&mut self, field: &str, p: Patch<String>, max: usize) -> Patch<String> {
        self.parse(field, p, |s| {
            // Only invisible marks (ZWNJ, bidi controls) left after cleaning: nothing a reader sees.
            validate::short_text(s, max)
                .and_then(|v| v.ok_or_else(|| "has no visible characters".to_owned()))
        })
    }

    /// Blank strings clear the field like `null` does.
    fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        p: Patch<String>,
        f: impl FnOnce(&str) -> Result<T, E>,
    ) -> Patch<T> {
        match p {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(s) if s.trim().is_empty() => Patch::Null,
            Patch::Value(s) => match f(&s) {
                Ok(v) => Patch::Value(v),
                Err(e) => {
                    self.errs.push(field, e);
                    Patch::Absent
                }
            },
        }
    }
}

impl CustomerInput {
    /// Parse every field into domain values, reporting all bad fields at once.
    pub fn into_patch(self, today: Date) -> Result<ProfilePatch, FieldErrors> {
        let mut errs = FieldErrors::default();
        let mut c = Conv { errs: &mut errs };
        let mut patch = ProfilePatch {
            first_name: c.text("first_name", self.first_name, 100),
            last_name: c.text("last_name", self.last_name, 100),
            honorific: c.parse("honorific", self.honorific, str::parse),
            mobile: c.parse("mobile", self.mobile, Mobile::parse),
            email: c.parse("email", self.email, |s| {
                validate::email(s).and_then(|v| v.ok_or_else(String::new))
            }),
            birth_date: c.parse("birth_date", self.birth_date, |s| parse_life_date(s, today)),
            marriage_date: c.parse("marriage_date", self.marriage_date, |s| {
                parse_life_date(s, today)
            }),
            gender: c.parse("gender", self.gender, str::parse),
            city: c.text("city", self.city, 100),
            occupation: c.text("occupation", self.occupation, 100),
            national_id: c.parse("national_id", self.national_id, NationalId::parse),
            external_id: c.text("external_id", self.external_id, 100),
            attributes: match self.attributes {
                Patch::Value(v) => match Attributes::parse(v) {
                    Ok(a) => Patch::Value(a),
                    Err(e) => {
                        errs.push("attributes", e);
                        Patch::Absent
                    }
                },
                Patch::Null => Patch::Null,
                Patch::Absent => Patch::Absent,
            },
            ..ProfilePatch::default()
        };
        if let Some(tags) = self.tags {
            patch.tags = errs.take("tags", Tag::parse_list(&tags));
        }
        if let Some(status) = self.status {
            match status.parse::<CustomerStatus>() {
                Ok(s @ (CustomerStatus::Active | CustomerStatus::Blocked)) => {
                    patch.status = Some(s)
                }
                Ok(_) => errs.push(
                    "status",
                    "only active or blocked can be set; erase and merge have their own requests",
                ),
                Err(e) => errs.push("status", e),
            }
        }
        if let Some(consent) = self.consent {
            for (channel, value) in [
                (Channel::Sms, consent.sms),
                (Channel::Email, consent.email),
                (Channel::Call, consent.call),
            ] {
                let Some(v) = value else { continue };
                let field = format!("consent.{}.source", channel.as_str());
                let source = match v.source.as_deref().map(|s| validate::short_text(s, 40)) {
                    None | Some(Ok(None)) => Some("api".to_owned()),
                    Some(Ok(Some(s))) => Some(s),
                    Some(Err(e)) => {
                        errs.push(field, e);
                        None
                    }
                };
                if let Some(source) = source {
                    patch.consent.push(ConsentChange {
                        channel,
                        granted: v.granted,
                        source,
                    });
                }
            }
        }
        errs.finish(|| patch)
    }
}

pub(crate) fn has_identity(p: &ProfilePatch) -> bool {
    let given = |p: &Patch<String>| matches!(p, Patch::Value(_));
    matches!(p.mobile, Patch::Value(_))
        || given(&p.first_name)
        || given(&p.last_name)
        || given(&p.email)
        || given(&p.external_id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentState {
    pub granted: bool,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub sms: Option<ConsentState>,
    pub email: Option<ConsentState>,
    pub call: Option<ConsentState>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: String,
    /// `active`, `blocked`, `erased` or `merged`.
    pub status: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub honorific: Option<String>,
    /// E.164, e.g. `+989121234567`.
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// ISO date.
    pub birth_date: Option<String>,
    /// The same date in the Solar Hijri calendar, e.g. `1370/05/12`.
    pub birth_date_jalali: Option<String>,
    pub marriage_date: Option<String>,
    pub marriage_date_jalali: Option<String>,
    pub gender: Option<String>,
    pub city: Option<String>,
    pub occupation: Option<String>,
    pub national_id: Option<String>,
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub tags: Vec<String>,
    pub consent: ConsentView,
    /// For a merged record: the customer it was merged into.
    pub merged_into: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub erased_at: Option<jiff::Timestamp>,
    /// On `GET /customers/{id}` when the program has a tier ladder: the tier, progress
    /// and what the next tier still needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<crate::api::tiers::TierStanding>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        let consent = |c: Option<Consent>| {
            c.map(|c| ConsentState {
                granted: c.granted,
                at: c.at,
                source: c.source,
            })
        };
        let jalali = |d: Option<Date>| d.map(|d| vafa_core::date::to_jalali(d).to_string());
        CustomerView {
            status: c.status.as_str().to_owned(),
            honorific: c.honorific.map(|h| h.as_str().to_owned()),
            mobile: c.mobile.map(|m| m.as_e164().to_owned()),
            birth_date: c.birth_date.map(|d| d.to_string()),
            birth_date_jalali: jalali(c.birth_date),
            marriage_date: c.marriage_date.map(|d| d.to_string()),
            marriage_date_jalali: jalali(c.marriage_date),
            gender: c.gender.map(|g| g.as_str().to_owned()),
            national_id: c.national_id.map(|n| n.as_str().to_owned()),
            attributes: c.attributes.into_value(),
            tags: c.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            consent: ConsentView {
                sms: consent(c.consent_sms),
                email: consent(c.consent_email),
                call: consent(c.consent_call),
            },
            id: c.id,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            city: c.city,
            occupation: c.occupation,
            external_id: c.external_id,
            merged_into: c.merged_into,
            created_at: c.created_at,
            updated_at: c.updated_at,
            erased_at: c.erased_at,
            tier: None,
        }
    }
}

/// Today for date checks. A day of slack past UTC covers every time zone east of it.
fn today(state: &AppState) -> Date {
    let now = state.clock.now();
    now.to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()
        .unwrap_or_else(|_| now.to_zoned(jiff::tz::TimeZone::UTC).date())
}

/// Register a customer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers",
    request_body = CustomerInput,
    responses((status = 201, body = CustomerView), (status = 409, description = "duplicate mobile, external or national id"), (status = 422, description = "invalid fields")),
    security(("api_key" = ["customers.write"])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<CustomerInput>,
) -> ApiResult<(StatusCode, axum::Json<CustomerView>)> {
    let patch = input.into_patch(today(&state))?;
    if !has_identity(&patch) {
        return Err(ApiError::field(
            "mobile",
            "a customer needs at least a mobile, a name, an e-mail or an external id",
        ));
    }
    let customer = state
        .store
        .create_customer(&auth.ctx(&state), patch)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(customer.into())))
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerListQuery {
    /// A mobile in any Iranian form.
    pub mobile: Option<String>,
    /// A card number.
    pub card: Option<String>,
    pub tag: Option<String>,
    pub external_id: Option<String>,
    /// Free text: mobile (or its last digits), card number, name, external or national id, e-mail.
    pub q: Option<String>,
    /// `active`, `blocked`, `erased` or `merged`; without it erased and merged records are left out.
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A page of a list whose cursor is one of the list's own ids (`{prefix}_` and 32 hex
/// digits): anything else is refused by name, not read as a place in the list.
pub fn id_page_request(
    cursor: Option<String>,
    limit: Option<u32>,
    prefix: &str,
) -> Result<PageRequest, ApiError> {
    let page = page_request(cursor, limit)?;
    if let Some(c) = &page.cursor {
        let ok = c
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('_'))
            .is_some_and(|hex| {
                hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            });
        if !ok {
            return Err(ApiError::field("cursor", BAD_CURSOR));
        }
    }
    Ok(page)
}

const BAD_CURSOR: &str = "is not a cursor this list gave out (pass next_cursor as it came)";

/// A page request: `limit` in range; an empty `cursor` is the first page, and one that
/// could not have come from a page (other characters, too long) is refused.
pub fn page_request(cursor: Option<String>, limit: Option<u32>) -> Result<PageRequest, ApiError> {
    let cursor = cursor.filter(|c| !c.is_empty());
    if let Some(c) = &cursor {
        let plausible = c.len() <= 200
            && c.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'~' | b'-' | b':' | b'.' | b'+')
            });
        if !plausible {
            return Err(ApiError::field("cursor", BAD_CURSOR));
        }
    }
    match limit {
        Some(0) => Err(ApiError::field("limit", "must be between 1 and 200")),
        Some(n) if n > PageRequest::MAX_LIMIT => {
            Err(ApiError::field("limit", "must be between 1 and 200"))
        }
        _ => Ok(PageRequest {
            cursor,
            limit: limit.unwrap_or(0),
        }),
    }
}

/// Find customers: by mobile, card, tag, external id or free text; newest first, cursor-paginated.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerListQuery),
    responses((status = 200, body = CustomerPage)),
    security(("api_key" = ["customers.read"])))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<CustomerListQuery>,
) -> ApiResult<axum::Json<CustomerPage>> {
    let mut errs = FieldErrors::default();
    let query = CustomerQuery {
        mobile: q
            .mobile
            .as_deref()
            .and_then(|m| errs.take("mobile", Mobile::parse(m))),
        card: q
            .card
            .as_deref()
            .and_then(|c| errs.take("card", CardNumber::parse(c))),
        tag: q
            .tag
            .as_deref()
            .and_then(|t| errs.take("tag", Tag::parse(t))),
        external_id: q.external_id,
        q: q.q,
        status: q
            .status
            .as_deref()
            .and_then(|s| errs.take("status", s.parse())),
        page: PageRequest::default(),
    };
    let page = id_page_request(q.cursor, q.limit, "cus")?;
    let query = errs.finish(|| CustomerQuery { page, ..query })?;
    let page = state
        .store
        .list_customers(auth.program_id(), &query)
        .await?;
    Ok(axum::Json(CustomerPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Read one customer. A merged record answers with `status: merged` and `merged_into`.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path)),
    responses((status = 200, body = CustomerView), (status = 404)),
    security(("api_key" = ["customers.read"])))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CustomerView>> {
    let c = state
        .store
        .get_customer(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    let tier = state
        .store
        .customer_tier(auth.program_id(), &id, state.clock.now())
        .await?;
    let mut view = CustomerView::from(c);
    view.tier = tier.map(crate::api::tiers::TierStanding::new);
    Ok(axum::Json(view))
}

/// Update a profile: given fields change, `null` clears, missing fields stay.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path)), request_body = CustomerInput,
    responses((status = 200, body = CustomerView), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["customers.write"])))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<CustomerInput>,
) -> ApiResult<axum::Json<CustomerView>> {
    let patch = input.into_patch(today(&state))?;
    let c = state
        .store
        .update_customer(&auth.ctx(&state), &id, patch)
        .await?;
    Ok(axum::Json(c.into()))
}

/// Erase a customer's personal data. The id, cards, purchases and ledger stay; the old
/// mobile no longer finds the record. Erasing twice answers the same.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path)),
    responses((status = 200, body = CustomerView), (status = 404)),
    security(("api_key" = ["customers.erase"])))]
pub async fn erase(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CustomerView>> {
    let c = state.store.erase_customer(&auth.ctx(&state), &id).await?;
    Ok(axum::Json(c.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The duplicate record to fold into the customer of the path.
    pub duplicate_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    pub customer: CustomerView,
    pub duplicate_id: String,
    /// Numbers of the cards that moved to the survivor.
    pub moved_cards: Vec<String>,
    /// What else moved: the duplicate's points, debt, cashback and purchases.
    pub moved: MovedValue,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovedValue {
    /// Points of the duplicate's open lots, available or pending: each keeps when it
    /// becomes available and when it expires.
    pub points: i64,
    /// The duplicate's points debt, now the survivor's.
    pub debt: i64,
    /// Of the two records' debts, what the points of either paid at once (a debt is only
    /// left where no points are).
    pub debt_paid: i64,
    pub cashback: MoneyDto,
    /// Purchases now the survivor's: their returns take back from it.
    pub purchases: i64,
    /// The `merge` entry in the survivor's ledger, when there was value to move.
    pub entry_id: Option<String>,
    /// The survivor's tier change, when the merge raised it: to the higher of the two
    /// records' tiers (`merge`, no second entry gift), or past both when the purchases
    /// together cross a threshold (`upgrade`, with its gift).
    #[schema(value_type = Option<Object>)]
    pub tier_change: Option<vafa_store::TierChange>,
}

/// Merge a duplicate into this customer: its cards, points (each lot keeping its dates),
/// debt, cashback and purchases move here, in one `merge` ledger entry; empty fields are
/// filled from it, and it becomes `merged`. All in one transaction.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers",
    params(("id" = String, Path, description = "the surviving customer")), request_body = MergeInput,
    responses((status = 200, body = MergeResult), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["customers.merge"])))]
pub async fn merge(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<MergeInput>,
) -> ApiResult<axum::Json<MergeResult>> {
    // Read before the merge: an error after it would answer a merge that happened.
    let currency = program_currency(&state, &auth).await?;
    let out = state
        .store
        .merge_customers(&auth.ctx(&state), &id, input.duplicate_id.trim())
        .await?;
    Ok(axum::Json(MergeResult {
        customer: out.survivor.into(),
        duplicate_id: out.duplicate_id,
        moved_cards: out.moved_cards,
        moved: MovedValue {
            points: out.moved.points,
            debt: out.moved.debt,
            debt_paid: out.moved.debt_paid,
            cashback: MoneyDto::of(out.moved.cashback_minor, currency),
            purchases: out.moved.purchases,
            entry_id: out.moved.entry_id,
            tier_change: out.moved.tier_change,
        },
    }))
}

/// The customer's cards, current and past.
#[utoipa::path(get, path = "/api/v1/customers/{id}/cards", tag = "cards",
    params(("id" = String, Path)),
    responses((status = 200, body = CardList), (status = 404)),
    security(("api_key" = ["cards.read"])))]
pub async fn cards(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CardList>> {
    state
        .store
        .get_customer(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    let cards = state.store.customer_cards(auth.program_id(), &id).await?;
    Ok(axum::Json(CardList {
        cards: cards.into_iter().map(Into::into).collect(),
    }))
}
