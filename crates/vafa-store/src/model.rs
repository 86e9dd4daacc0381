//! Read models and requests of the store's operations.

use jiff::Timestamp;
use serde::Serialize;
use vafa_core::auth::Role;
use vafa_core::card::CardNumber;
use vafa_core::customer::{CustomerStatus, Tag};
use vafa_core::mobile::Mobile;
use vafa_core::program::{Currency, Locale};

#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub id: String,
    pub name: String,
    pub currency: Currency,
    pub timezone: String,
    pub locale: Locale,
    pub created_at: Timestamp,
}

/// A newly created key: the only moment its secret exists in clear.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedKey {
    pub key_id: String,
    pub api_key: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// Who is calling: resolved from a live API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub program_id: String,
    /// The API key, or the staff session.
    pub key_id: String,
    pub role: Role,
    /// Set when a staff member signed in (a session, not an API key).
    pub staff_id: Option<String>,
}

impl Principal {
    /// Who this caller is in the audit log.
    pub fn actor(&self) -> Actor {
        match &self.staff_id {
            Some(staff_id) => Actor::Staff {
                staff_id: staff_id.clone(),
                role: self.role,
            },
            None => Actor::ApiKey {
                key_id: self.key_id.clone(),
                role: self.role,
            },
        }
    }
}

/// Who did a write, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey {
        key_id: String,
        role: Role,
    },
    /// A staff member signed in with a password.
    Staff {
        staff_id: String,
        role: Role,
    },
    /// The `vafa` command line, run by whoever has the database.
    Cli,
    /// Vafa itself: background jobs such as expiry.
    System,
}

impl Actor {
    /// The staff member acting, when one signed in.
    pub fn staff_id(&self) -> Option<&str> {
        match self {
            Actor::Staff { staff_id, .. } => Some(staff_id),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Actor::ApiKey { .. } => "api_key",
            Actor::Staff { .. } => "staff",
            Actor::Cli => "cli",
            Actor::System => "system",
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::ApiKey { key_id, .. } => Some(key_id),
            Actor::Staff { staff_id, .. } => Some(staff_id),
            Actor::Cli | Actor::System => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::ApiKey { role, .. } | Actor::Staff { role, .. } => Some(*role),
            Actor::Cli | Actor::System => None,
        }
    }
}

/// The context of a write inside a program: who, and at what instant (a clock the
/// caller controls, so tests can move time).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub program_id: String,
    pub actor: Actor,
    pub now: Timestamp,
}

/// The context of a write that creates a program (there is no program yet).
#[derive(Debug, Clone)]
pub struct SystemCtx {
    pub actor: Actor,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// The last id of the previous page.
    pub cursor: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn limit(&self) -> u32 {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Filters for finding customers; all given filters must match.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    pub mobile: Option<Mobile>,
    pub card: Option<CardNumber>,
    pub tag: Option<Tag>,
    pub external_id: Option<String>,
    /// Free text: a mobile in any form, a card number, the end of a mobile, a name,
    /// an external or national id, an e-mail.
    pub q: Option<String>,
    /// Without it, erased and merged records are left out.
    pub status: Option<CustomerStatus>,
    pub page: PageRequest,
}

#[derive(Debug, Clone)]
pub struct MergeOutcome {
    pub survivor: vafa_core::customer::Customer,
    pub duplicate_id: String,
    pub moved_cards: Vec<String>,
    /// The duplicate's points, debt, cashback and purchases, now the survivor's.
    pub moved: MergedValue,
}

/// What a merge moved from the duplicate to the survivor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergedValue {
    /// Points in open lots (available or pending), each keeping its dates.
    pub points: i64,
    /// The duplicate's debt, now owed by the survivor.
    pub debt: i64,
    /// Of the two records' debts, what the points of either paid at once.
    pub debt_paid: i64,
    pub cashback_minor: i64,
    pub purchases: i64,
    /// The `merge` journal entry, when there was value to move.
    pub entry_id: Option<String>,
    /// The survivor's tier change, when the merge raised it.
    pub tier_change: Option<crate::tiers_model::TierChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// Bound to a customer at issue.
    Personal,
    /// Unnamed: whoever holds it; may be bound later.
    Bearer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Active,
    Blocked,
    Replaced,
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Blocked => "blocked",
            CardStatus::Replaced => "replaced",
        }
    }
}

impl CardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Personal => "personal",
            CardKind::Bearer => "bearer",
        }
    }
}

/// What to issue: `count` bearer cards, or one personal card for `customer_id`.
#[derive(Debug, Clone)]
pub struct IssueCards {
    pub customer_id: Option<String>,
    pub count: u32,
}

impl IssueCards {
    pub const MAX_BATCH: u32 = 10_000;
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    pub id: String,
    pub number: CardNumber,
    pub kind: CardKind,
    pub status: CardStatus,
    pub customer_id: Option<String>,
    pub issued_at: Timestamp,
    pub status_reason: Option<String>,
    /// The number of the card that replaced this one.
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardEvent {
    pub at: Timestamp,
    /// issued, bound, blocked, replaced, moved (by a merge)
    pub event: String,
    pub customer_id: Option<String>,
    pub detail: Option<String>,
    pub actor_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardDetail {
    pub card: Card,
    pub history: Vec<CardEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardReplacement {
    pub old: Card,
    pub new: Card,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub summary: serde_json::Value,
}
