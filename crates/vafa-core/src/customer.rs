//! Customers: the validated shape of a profile, and the record the store returns.
//!
//! A profile change (create or update) is one [`ProfilePatch`] of already-parsed values,
//! so the store never sees an unchecked mobile, national id or date.

use crate::mobile::Mobile;
use crate::national_id::NationalId;
use crate::patch::Patch;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown value {other:?}: expected one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(Gender { Female => "female", Male => "male", Other => "other" });

string_enum!(
    /// How staff and messages address the customer: آقای، خانم، دکتر، مهندس.
    Honorific { Mr => "mr", Ms => "ms", Dr => "dr", Eng => "eng" }
);

string_enum!(
    /// `merged` records point at their survivor; `erased` ones hold no personal data.
    CustomerStatus { Active => "active", Blocked => "blocked", Erased => "erased", Merged => "merged" }
);

string_enum!(Channel { Sms => "sms", Email => "email", Call => "call" });

/// A tag, normalised the way search normalises text so `VIP`, `vip` and `ويژه`/`ویژه` match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub const MAX_CHARS: usize = 40;
    pub const MAX_PER_CUSTOMER: usize = 30;

    pub fn parse(raw: &str) -> Result<Tag, String> {
        let key = crate::text::search_key(raw);
        if key.is_empty() {
            return Err("a tag must not be empty".into());
        }
        if key.chars().count() > Self::MAX_CHARS {
            return Err(format!("a tag is at most {} characters", Self::MAX_CHARS));
        }
        if key.contains(',') || key.chars().any(char::is_control) {
            return Err("a tag must not contain commas or control characters".into());
        }
        Ok(Tag(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A list of tags: de-duplicated, sorted, bounded.
    pub fn parse_list(raw: &[String]) -> Result<Vec<Tag>, String> {
        let mut tags = raw
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > Self::MAX_PER_CUSTOMER {
            return Err(format!(
                "at most {} tags per customer",
                Self::MAX_PER_CUSTOMER
            ));
        }
        Ok(tags)
    }
}

/// Free-form custom attributes: a JSON object with a bounded size, so one customer
/// record cannot grow without limit.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Attributes(serde_json::Map<String, serde_json::Value>);

impl Attributes {
    pub const MAX_BYTES: usize = 8 * 1024;
    pub const MAX_KEYS: usize = 64;

    pub fn parse(value: serde_json::Value) -> Result<Attributes, String> {
        let serde_json::Value::Object(map) = value else {
            return Err("must be a JSON object".into());
        };
        if map.len() > Self::MAX_KEYS {
            return Err(format!("at most {} keys", Self::MAX_KEYS));
        }
        if let Some(k) = map.keys().find(|k| k.is_empty() || k.chars().count() > 64) {
            return Err(format!("key {k:?} must be 1 to 64 characters"));
        }
        let size = serde_json::to_string(&map)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if size > Self::MAX_BYTES {
            return Err(format!(
                "is {size} bytes as JSON; at most {} allowed",
                Self::MAX_BYTES
            ));
        }
        Ok(Attributes(map))
    }

    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }

    pub fn into_value(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }
}

/// A change of consent on one channel, with where it was given (POS, web form, call…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub channel: Channel,
    pub granted: bool,
    pub source: String,
}

/// Validated changes to a customer profile; on create, `Absent` means "not given".
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub honorific: Patch<Honorific>,
    pub mobile: Patch<Mobile>,
    pub email: Patch<String>,
    pub birth_date: Patch<Date>,
    pub marriage_date: Patch<Date>,
    pub gender: Patch<Gender>,
    pub city: Patch<String>,
    pub occupation: Patch<String>,
    pub national_id: Patch<NationalId>,
    pub external_id: Patch<String>,
    pub attributes: Patch<Attributes>,
    /// Replaces the whole tag set when given.
    pub tags: Option<Vec<Tag>>,
    /// Only `active` or `blocked` can be set directly; erase and merge have their own operations.
    pub status: Option<CustomerStatus>,
    pub consent: Vec<ConsentChange>,
}

/// Consent as stored for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    pub granted: bool,
    pub at: Timestamp,
    pub source: String,
}

/// A customer record as the store returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub program_id: String,
    pub status: CustomerStatus,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub honorific: Option<Honorific>,
    pub mobile: Option<Mobile>,
    pub email: Option<String>,
    pub birth_date: Option<Date>,
    pub marriage_date: Option<Date>,
    pub gender: Option<Gender>,
    pub city: Option<String>,
    pub occupation: Option<String>,
    pub national_id: Option<NationalId>,
    pub external_id: Option<String>,
    pub attributes: Attributes,
    pub tags: Vec<Tag>,
    pub consent_sms: Option<Consent>,
    pub consent_email: Option<Consent>,
    pub consent_call: Option<Consent>,
    pub merged_into: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub erased_at: Option<Timestamp>,
}

impl Customer {
    /// The text a name search matches against: first and last name, normalised.
    pub fn search_name(first: Option<&str>, last: Option<&str>) -> String {
        let joined = [first.unwrap_or(""), last.unwrap_or("")].join(" ");
        crate::text::search_key(&joined)
    }

    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            CustomerStatus::Active | CustomerStatus::Blocked
        )
    }
}

impl Customer {
    /// A new, empty, active record.
    pub fn new(id: String, program_id: String, now: Timestamp) -> Customer {
        Customer {
            id,
            program_id,
            status: CustomerStatus::Active,
            first_name: None,
            last_name: None,
            honorific: None,
            mobile: None,
            email: None,
            birth_date: None,
            marriage_date: None,
            gender: None,
            city: None,
            occupation: None,
            national_id: None,
            external_id: None,
            attributes: Attributes::default(),
            tags: Vec::new(),
            consent_sms: None,
            consent_email: None,
            consent_call: None,
            merged_into: None,
            created_at: now,
            updated_at: now,
            erased_at: None,
        }
    }

    pub fn consent_mut(&mut self, channel: Channel) -> &mut Option<Consent> {
        match channel {
            Channel::Sms => &mut self.consent_sms,
            Channel::Email => &mut self.consent_email,
            Channel::Call => &mut self.consent_call,
        }
    }

    /// Apply a validated patch; returns the names of the fields it touched (for the audit
    /// log, which records which fields changed but not their personal values).
    /// Something to know the customer by: a mobile, a name, an e-mail or an external id
    /// (an anonymous card holder has none yet).
    pub fn has_identity(&self) -> bool {
        self.mobile.is_some()
            || self.first_name.is_some()
            || self.last_name.is_some()
            || self.email.is_some()
            || self.external_id.is_some()
    }

    pub fn apply(&mut self, patch: ProfilePatch, now: Timestamp) -> Vec<&'static str> {
        let mut touched = Vec::new();
        macro_rules! field {
            ($name:ident) => {
                if !patch.$name.is_absent() {
                    touched.push(stringify!($name));
                    self.$name = patch.$name.apply(self.$name.take());
                }
            };
        }
        field!(first_name);
        field!(last_name);
        field!(honorific);
        field!(mobile);
        field!(email);
        field!(birth_date);
        field!(marriage_date);
        field!(gender);
        field!(city);
        field!(occupation);
        field!(national_id);
        field!(external_id);
        if !patch.attributes.is_absent() {
            touched.push("attributes");
            self.attributes = patch.attributes.apply(None).unwrap_or_default();
        }
        if let Some(tags) = patch.tags {
            touched.push("tags");
            self.tags = tags;
        }
        if let Some(status) = patch.status {
            touched.push("status");
            self.status = status;
        }
        for change in patch.consent {
            touched.push(match change.channel {
                Channel::Sms => "consent.sms",
                Channel::Email => "consent.email",
                Channel::Call => "consent.call",
            });
            *self.consent_mut(change.channel) = Some(Consent {
                granted: change.granted,
                at: now,
                source: change.source,
            });
        }
        self.updated_at = now;
        touched
    }

    /// Drop every piece of personal data; the id, program and history stay.
    pub fn erase(&mut self, now: Timestamp) {
        let keep = Customer::new(self.id.clone(), self.program_id.clone(), self.created_at);
        *self = Customer {
            status: CustomerStatus::Erased,
            updated_at: now,
            erased_at: Some(now),
            ..keep
        };
    }

    /// Drop the personal data of a record merged into one being erased: it is the same
    /// person's, so it goes with theirs. It stays merged, pointing where it went.
    pub fn erase_as_merged(&mut self, now: Timestamp) {
        let into = self.merged_into.take();
        self.erase(now);
        self.status = CustomerStatus::Merged;
        self.merged_into = into;
    }

    /// Take over what a duplicate record knows that this one does not: empty fields,
    /// tags, attributes and consents. The duplicate gives up its unique identifiers
    /// (mobile, external and national id) and points here. Returns the fields filled.
    pub fn absorb(&mut self, dup: &mut Customer, now: Timestamp) -> Vec<&'static str> {
        let mut filled = Vec::new();
        macro_rules! fill {
            ($name:ident) => {
                if self.$name.is_none() && dup.$name.is_some() {
                    filled.push(stringify!($name));
                    self.$name = dup.$name.clone();
                }
            };
        }
        fill!(first_name);
        fill!(last_name);
        fill!(honorific);
        fill!(mobile);
        fill!(email);
        fill!(birth_date);
        fill!(marriage_date);
        fill!(gender);
        fill!(city);
        fill!(occupation);
        fill!(national_id);
        fill!(external_id);
        fill!(consent_sms);
        fill!(consent_email);
        fill!(consent_call);
        let mut attrs = dup.attributes.0.clone();
        attrs.extend(self.attributes.0.clone());
        self.attributes = Attributes(attrs);
        self.tags.extend(dup.tags.iter().cloned());
        self.tags.sort();
        self.tags.dedup();
        self.updated_at = now;
        dup.mobile = None;
        dup.external_id = None;
        dup.national_id = None;
        dup.status = CustomerStatus::Merged;
        dup.merged_into = Some(self.id.clone());
        dup.updated_at = now;
        filled
    }
}

/// A date of birth or marriage: a real calendar date, not in the future, not before 1900.
pub fn parse_life_date(raw: &str, today: Date) -> Result<Date, String> {
    let date = crate::date::parse_calendar_date(raw).map_err(|e| e.to_string())?;
    if date > today {
        return Err("must not be in the future".into());
    }
    if date.year() < 1900 {
        return Err("must not be before 1900".into());
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised_deduplicated_and_bounded() {
        let tags = Tag::parse_list(&["VIP".into(), " vip ".into(), "مشتري".into()]).unwrap();
        let names: Vec<_> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["vip", "مشتری"]);
        assert!(Tag::parse("  ").is_err());
        assert!(Tag::parse("a,b").is_err());
        let many: Vec<String> = (0..31).map(|i| format!("t{i}")).collect();
        assert!(Tag::parse_list(&many).is_err());
    }

    #[test]
    fn attributes_must_be_a_bounded_object() {
        assert!(Attributes::parse(serde_json::json!({"drink": "latte"})).is_ok());
        assert!(Attributes::parse(serde_json::json!([1, 2])).is_err());
        let big = "x".repeat(Attributes::MAX_BYTES);
        assert!(Attributes::parse(serde_json::json!({ "k": big })).is_err());
    }

    #[test]
    fn life_dates_accept_jalali_and_reject_the_future() {
        let today = jiff::civil::date(2026, 11, 23);
        assert_eq!(
            parse_life_date("1403/01/01", today),
            Ok(jiff::civil::date(2024, 3, 20))
        );
        assert!(parse_life_date("2030-01-01", today).is_err());
        assert!(parse_life_date("1850-01-01", today).is_err());
    }

    #[test]
    fn merge_fills_gaps_and_moves_identifiers() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let mut a = Customer::new("a".into(), "p".into(), now);
        a.first_name = Some("Ali".into());
        let mut b = Customer::new("b".into(), "p".into(), now);
        b.first_name = Some("Alireza".into());
        b.city = Some("Tehran".into());
        b.external_id = Some("X1".into());
        b.tags = vec![Tag::parse("vip").unwrap()];
        let filled = a.absorb(&mut b, now);
        assert_eq!(filled, ["city", "external_id"]);
        assert_eq!(a.first_name.as_deref(), Some("Ali"));
        assert_eq!(a.external_id.as_deref(), Some("X1"));
        assert_eq!(b.external_id, None);
        assert_eq!(b.status, CustomerStatus::Merged);
        assert_eq!(b.merged_into.as_deref(), Some("a"));
        assert_eq!(a.tags.len(), 1);
    }

    #[test]
    fn erase_keeps_only_identity() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let mut a = Customer::new("a".into(), "p".into(), now);
        a.first_name = Some("Ali".into());
        a.tags = vec![Tag::parse("vip").unwrap()];
        a.erase(now);
        assert_eq!(a.first_name, None);
        assert!(a.tags.is_empty());
        assert_eq!(a.status, CustomerStatus::Erased);
        assert_eq!(a.id, "a");
    }

    #[test]
    fn enums_parse_their_names() {
        assert_eq!("eng".parse::<Honorific>(), Ok(Honorific::Eng));
        assert!("sir".parse::<Honorific>().is_err());
        for s in CustomerStatus::ALL {
            assert_eq!(s.as_str().parse::<CustomerStatus>(), Ok(*s));
        }
    }
}
