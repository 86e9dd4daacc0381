//! Rows as stored, and their conversion into the domain's records.

use super::{from_micros, parse_col, parse_opt};
use crate::model::*;
use crate::StoreError;
use vafa_core::card::CardNumber;
use vafa_core::customer::{Attributes, Channel, Consent, Customer, Tag};

#[derive(sqlx::FromRow)]
pub(crate) struct ProgramRow {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    pub locale: String,
    pub created_at: i64,
}

super::db::from_lite_by_name!(ProgramRow {
    id,
    name,
    currency,
    timezone,
    locale,
    created_at
});
super::db::from_lite_by_name!(CustomerRow {
    id,
    program_id,
    status,
    first_name,
    last_name,
    honorific,
    mobile,
    email,
    birth_date,
    marriage_date,
    gender,
    city,
    occupation,
    national_id,
    external_id,
    attributes,
    merged_into,
    created_at,
    updated_at,
    erased_at,
});
super::db::from_lite_by_name!(TagRow { customer_id, tag });
super::db::from_lite_by_name!(ConsentRow {
    customer_id,
    channel,
    granted,
    at,
    source
});

impl TryFrom<ProgramRow> for Program {
    type Error = StoreError;
    fn try_from(r: ProgramRow) -> Result<Self, StoreError> {
        Ok(Program {
            currency: parse_col("currency", &r.currency)?,
            locale: parse_col("locale", &r.locale)?,
            created_at: from_micros(r.created_at)?,
            id: r.id,
            name: r.name,
            timezone: r.timezone,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub id: String,
    pub program_id: String,
    pub name: Option<String>,
    pub role: String,
    pub secret_sha256: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

super::db::from_lite_by_name!(ApiKeyRow {
    id,
    program_id,
    name,
    role,
    secret_sha256,
    created_at,
    revoked_at
});

impl TryFrom<ApiKeyRow> for ApiKeyInfo {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKeyInfo {
            role: parse_col("role", &r.role)?,
            created_at: from_micros(r.created_at)?,
            revoked_at: r.revoked_at.map(from_micros).transpose()?,
            id: r.id,
            name: r.name,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    pub id: String,
    pub program_id: String,
    pub status: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub honorific: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<String>,
    pub marriage_date: Option<String>,
    pub gender: Option<String>,
    pub city: Option<String>,
    pub occupation: Option<String>,
    pub national_id: Option<String>,
    pub external_id: Option<String>,
    pub attributes: String,
    pub merged_into: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub erased_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TagRow {
    pub customer_id: String,
    pub tag: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConsentRow {
    pub customer_id: String,
    pub channel: String,
    pub granted: bool,
    pub at: i64,
    pub source: String,
}

impl CustomerRow {
    /// Assemble the record from its row and the tag and consent rows that belong to it.
    pub fn into_customer(
        self,
        tags: &[TagRow],
        consents: &[ConsentRow],
    ) -> Result<Customer, StoreError> {
        let attributes = serde_json::from_str(&self.attributes)
            .map_err(|e| StoreError::Corrupt(format!("attributes: {e}")))
            .and_then(|v| Attributes::parse(v).map_err(StoreError::Corrupt))?;
        let mut tag_list = Vec::new();
        for t in tags.iter().filter(|t| t.customer_id == self.id) {
            tag_list.push(Tag::parse(&t.tag).map_err(StoreError::Corrupt)?);
        }
        let consent = |channel: Channel| -> Result<Option<Consent>, StoreError> {
            consents
                .iter()
                .find(|c| c.customer_id == self.id && c.channel == channel.as_str())
                .map(|c| {
                    Ok(Consent {
                        granted: c.granted,
                        at: from_micros(c.at)?,
                        source: c.source.clone(),
                    })
                })
                .transpose()
        };
        Ok(Customer {
            consent_sms: consent(Channel::Sms)?,
            consent_email: consent(Channel::Email)?,
            consent_call: consent(Channel::Call)?,
            status: parse_col("status", &self.status)?,
            honorific: parse_opt("honorific", self.honorific)?,
            mobile: parse_opt("mobile", self.mobile)?,
            birth_date: parse_opt("birth_date", self.birth_date)?,
            marriage_date: parse_opt("marriage_date", self.marriage_date)?,
            gender: parse_opt("gender", self.gender)?,
            national_id: parse_opt("national_id", self.national_id)?,
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
            erased_at: self.erased_at.map(from_micros).transpose()?,
            attributes,
            tags: tag_list,
            id: self.id,
            program_id: self.program_id,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            city: self.city,
            occupation: self.occupation,
            external_id: self.external_id,
            merged_into: self.merged_into,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CardRow {
    pub id: String,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub customer_id: Option<String>,
    pub issued_at: i64,
    pub status_reason: Option<String>,
    pub replaced_by: Option<String>,
}

super::db::from_lite_by_name!(CardRow {
    id,
    number,
    kind,
    status,
    customer_id,
    issued_at,
    status_reason,
    replaced_by
});

impl TryFrom<CardRow> for Card {
    type Error = StoreError;
    fn try_from(r: CardRow) -> Result<Self, StoreError> {
        let kind = match r.kind.as_str() {
            "personal" => CardKind::Personal,
            "bearer" => CardKind::Bearer,
            other => return Err(StoreError::Corrupt(format!("card kind {other:?}"))),
        };
        let status = match r.status.as_str() {
            "active" => CardStatus::Active,
            "blocked" => CardStatus::Blocked,
            "replaced" => CardStatus::Replaced,
            other => return Err(StoreError::Corrupt(format!("card status {other:?}"))),
        };
        Ok(Card {
            number: CardNumber::parse(&r.number).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            issued_at: from_micros(r.issued_at)?,
            id: r.id,
            kind,
            status,
            customer_id: r.customer_id,
            status_reason: r.status_reason,
            replaced_by: r.replaced_by,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CardEventRow {
    pub at: i64,
    pub event: String,
    pub customer_id: Option<String>,
    pub detail: Option<String>,
    pub actor_id: Option<String>,
}

impl TryFrom<CardEventRow> for CardEvent {
    type Error = StoreError;
    fn try_from(r: CardEventRow) -> Result<Self, StoreError> {
        Ok(CardEvent {
            at: from_micros(r.at)?,
            event: r.event,
            customer_id: r.customer_id,
            detail: r.detail,
            actor_id: r.actor_id,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: String,
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub summary: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEntry {
            at: from_micros(r.at)?,
            summary: serde_json::from_str(&r.summary)
                .map_err(|e| StoreError::Corrupt(format!("summary: {e}")))?,
            id: r.id,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
        })
    }
}
