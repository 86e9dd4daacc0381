//! Field-level validation errors: which field is wrong and why, in words a person reads.
//!
//! Conversions from request DTOs collect every problem rather than stopping at the
//! first, so a form can mark all bad fields at once.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `mobile` or `consent.sms.source`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        FieldError {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A non-empty-when-failed list of field errors.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: impl Into<String>, message: impl fmt::Display) {
        self.0.push(FieldError::new(field, message));
    }

    /// Record the error of `result` (if any) and return its value.
    pub fn take<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing failed.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        FieldErrors(vec![e])
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

/// A short free-text value: cleaned for display, bounded, and `None` when blank.
pub fn short_text(value: &str, max_chars: usize) -> Result<Option<String>, String> {
    let cleaned = crate::text::clean_text(value);
    // Only joiners, direction marks or combining marks: nothing anyone could read.
    if cleaned.is_empty() || crate::text::search_key(&cleaned).is_empty() {
        return Ok(None);
    }
    let len = cleaned.chars().count();
    if len > max_chars {
        return Err(format!(
            "is {len} characters long; at most {max_chars} allowed"
        ));
    }
    if cleaned.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(Some(cleaned))
}

/// A pragmatic e-mail check: one `@`, a dotted domain, no spaces; the domain is lower-cased.
pub fn email(value: &str) -> Result<Option<String>, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    const WHY: &str = "is not an e-mail address (expected e.g. name@example.com)";
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(WHY.into());
    }
    let Some((local, domain)) = v.rsplit_once('@') else {
        return Err(WHY.into());
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || local.contains('@') || !domain_ok {
        return Err(WHY.into());
    }
    Ok(Some(format!("{local}@{}", domain.to_lowercase())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email(" Ali@Example.COM ").unwrap().as_deref(),
            Some("Ali@example.com")
        );
        assert_eq!(email("").unwrap(), None);
        for bad in [
            "a",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "@c.com",
            "a@.com",
            "a@c..com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_text_is_cleaned_and_bounded() {
        assert_eq!(short_text("  علي  ", 10).unwrap().as_deref(), Some("علی"));
        assert_eq!(short_text("   ", 10).unwrap(), None);
        // Joiners and direction marks alone are nothing to read: absent, not a reason.
        assert_eq!(short_text("\u{200C}\u{200F} \u{200E}", 10).unwrap(), None);
        assert_eq!(short_text("\u{2067}\u{2069}", 10).unwrap(), None);
        assert_eq!(
            short_text("\u{200F}خسارت", 10).unwrap().as_deref(),
            Some("\u{200F}خسارت")
        );
        assert!(short_text("abcdefghijk", 10).is_err());
        assert!(short_text("a\u{0007}b", 10).is_err());
    }
}
