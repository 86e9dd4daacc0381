//! Loyalty card numbers: 16 digits, the last a Luhn check digit, so a mistyped digit
//! at the counter is caught before it reaches the database.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CardNumber(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CardNumberError {
    #[error("must be 16 digits")]
    Length,
    #[error("check digit does not match: a digit is mistyped")]
    Checksum,
}

/// The Luhn check digit for `body`; `None` if it has a non-digit.
pub fn luhn_check_digit(body: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    Some(((10 - sum % 10) % 10) as u8)
}

pub fn luhn_valid(number: &str) -> bool {
    let Some((body, last)) = number.len().checked_sub(1).map(|i| number.split_at(i)) else {
        return false;
    };
    match (luhn_check_digit(body), last.bytes().next()) {
        (Some(check), Some(b)) if b.is_ascii_digit() => check == b - b'0',
        _ => false,
    }
}

impl CardNumber {
    pub fn parse(input: &str) -> Result<CardNumber, CardNumberError> {
        let digits: String = crate::digits::normalize_digits(input)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardNumberError::Length);
        }
        if !luhn_valid(&digits) {
            return Err(CardNumberError::Checksum);
        }
        Ok(CardNumber(digits))
    }

    /// Append the check digit to a 15-digit body.
    pub fn from_body(body15: &str) -> Option<CardNumber> {
        if body15.len() != 15 {
            return None;
        }
        let check = luhn_check_digit(body15)?;
        Some(CardNumber(format!("{body15}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `7012 3456 7890 1238`
    pub fn display(&self) -> String {
        let s = &self.0;
        format!("{} {} {} {}", &s[0..4], &s[4..8], &s[8..12], &s[12..16])
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CardNumber {
    type Err = CardNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CardNumber::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_numbers() {
        assert!(luhn_valid("4539578763621486"));
        assert!(!luhn_valid("4539578763621487"));
        assert_eq!(
            CardNumber::parse("4539 5787 6362 1486").unwrap().display(),
            "4539 5787 6362 1486"
        );
        assert_eq!(
            CardNumber::parse("۴۵۳۹۵۷۸۷۶۳۶۲۱۴۸۶").unwrap().as_str(),
            "4539578763621486"
        );
        assert_eq!(
            CardNumber::parse("4539578763621487"),
            Err(CardNumberError::Checksum)
        );
        assert_eq!(CardNumber::parse("123"), Err(CardNumberError::Length));
        assert!(!luhn_valid(""));
    }

    proptest! {
        #[test]
        fn a_single_mistyped_digit_is_caught(body in "[0-9]{15}", pos in 0usize..16, delta in 1u8..10) {
            let n = CardNumber::from_body(&body).unwrap();
            prop_assert_eq!(CardNumber::parse(n.as_str()).unwrap(), n.clone());
            let mut bytes = n.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(CardNumber::parse(&typo).is_err());
        }
    }
}
