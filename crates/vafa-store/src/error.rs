//! Store errors: domain outcomes (not found, duplicates, wrong state) kept apart from
//! database failures, so the API can map each to a stable code.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("another customer of this program already has this mobile number")]
    DuplicateMobile,
    #[error("another customer of this program already has this external id")]
    DuplicateExternalId,
    #[error("another customer of this program already has this national id")]
    DuplicateNationalId,
    #[error("the customer is {0}; only active or blocked customers can be changed")]
    CustomerClosed(&'static str),
    #[error("a customer cannot be merged into itself")]
    MergeSelf,
    #[error("the card is {0}; only active cards can be changed")]
    CardNotActive(&'static str),
    #[error("the card is already bound to a customer")]
    CardAlreadyBound,
    #[error("the API key is already revoked")]
    KeyRevoked,
    #[error("could not generate unique card numbers; try again")]
    CardNumberExhausted,
    #[error("not enough points: {available} available")]
    InsufficientPoints { available: i64 },
    #[error("not enough cashback: {available} available (minor units)")]
    InsufficientCashback { available: i64 },
    #[error("this idempotency key was used for a different request")]
    IdempotencyConflict,
    #[error("a purchase with this external id is already recorded: with other details, or under another Idempotency-Key (retry with the first key, or with none)")]
    DuplicatePurchase,
    #[error("an event with this external id was already recorded")]
    DuplicateEvent,
    #[error("the customer is blocked")]
    CustomerBlocked,
    /// More than was bought (or is left) asked back; `field` names the part of the request.
    #[error("{message}")]
    ReturnTooLarge { field: String, message: String },
    /// The program's transfer rules refuse it; `field` names the request's field at fault,
    /// if one is (the points over the limit), none when transfers are off.
    #[error("{message}")]
    TransferRefused {
        field: Option<&'static str>,
        message: String,
    },
    #[error("{0}")]
    RewardUnavailable(String),
    #[error("{0}")]
    ClaimNotUsable(String),
    /// An entry would take an account past what an integer balance holds (a runaway
    /// earn rate or adjustment); nothing was written.
    #[error("{0}")]
    LedgerLimit(String),
    #[error("a coupon with this code already exists")]
    DuplicateCouponCode,
    #[error("this coupon code has no uses left")]
    CouponUsedUp,
    #[error("{0}")]
    CouponNotApplicable(String),
    /// A request the store itself refuses (bulk and demo options), naming the field.
    #[error("{0}")]
    Invalid(String),
    /// A field that names something the store does not have or refuses.
    #[error("{field}: {message}")]
    InvalidField {
        field: std::borrow::Cow<'static, str>,
        message: String,
    },
    /// The record is not in a state that allows the change (ticket flow, closed task,
    /// final order stage).
    #[error("{0}")]
    Conflict(String),
    #[error("this username is taken")]
    DuplicateUsername,
    #[error("this feedback was already given: the link answered, or the ticket already rated")]
    FeedbackAnswered,
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A failure of a synchronous SQLite connection (the purchase writer, bulk reads).
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The thread of a synchronous SQLite connection failed or stopped.
    #[error("database error: {0}")]
    BulkRead(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Open(String),
}

impl StoreError {
    /// True when the failure is the database being unreachable or overloaded, not the request.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
            )
        ) || self.is_transient_conflict()
    }

    /// True when PostgreSQL refused a text value it cannot hold (a NUL character,
    /// bytes its encoding has no character for): the request's fault, nothing written.
    pub fn is_unstorable_text(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("22021" | "22P05"))
            }
            _ => false,
        }
    }

    /// True when PostgreSQL gave up the transaction to let a concurrent one through
    /// (deadlock detected, serialization failure): nothing was written and the same
    /// request, retried, can succeed.
    pub fn is_transient_conflict(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }
}
