//! Loyalty card numbers: 16 digits, the last a Luhn check digit, so a mistyped or
//! swapped digit at the counter is caught before it reaches the database. Luhn catches
//! every single-digit error and most adjacent transpositions, which is what cashiers make.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// A 16-digit card number with a valid Luhn check digit, held as ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CardNumber(String);

/// Messages read after the field name: "card must be 16 digits".
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CardNumberError {
    #[error("must be 16 digits")]
    Length,
    #[error("check digit does not match: a digit is mistyped")]
    Checksum,
}

/// The Luhn check digit for `body` (ASCII digits, check digit not included); `None` if
/// it has anything else. Counting from the right, every other digit starting with the
/// rightmost is doubled, since the check digit will sit to its right.
pub fn luhn_check_digit(body: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in body.chars().rev().enumerate() {
        // `to_digit` knows only ASCII digits: callers normalise Persian ones first.
        let mut d = c.to_digit(10)?;
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        // Reduce as we go so an absurdly long body cannot overflow.
        sum = (sum + d) % 10;
    }
    Some(((10 - sum) % 10) as u8)
}

/// Whether `number` (ASCII digits only, check digit last) passes the Luhn check.
pub fn luhn_valid(number: &str) -> bool {
    let mut chars = number.chars();
    let Some(last) = chars.next_back() else {
        return false;
    };
    match (luhn_check_digit(chars.as_str()), last.to_digit(10)) {
        (Some(check), Some(d)) => u32::from(check) == d,
        _ => false,
    }
}

impl CardNumber {
    /// Accepts ASCII, Persian or Arabic-Indic digits with spaces or dashes.
    pub fn parse(input: &str) -> Result<CardNumber, CardNumberError> {
        let digits = crate::digits::compact_number(input, &['-']);
        if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardNumberError::Length);
        }
        if !luhn_valid(&digits) {
            return Err(CardNumberError::Checksum);
        }
        Ok(CardNumber(digits))
    }

    /// Append the check digit to a 15-digit ASCII body: how new card numbers are made.
    /// `None` unless `body15` is exactly 15 ASCII digits.
    pub fn from_body(body15: &str) -> Option<CardNumber> {
        if body15.len() != 15 {
            return None;
        }
        let check = luhn_check_digit(body15)?;
        Some(CardNumber(format!("{body15}{check}")))
    }

    /// The 16 ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `6037 9912 3456 7893`: groups of four, as printed on the card. (ASCII by
    /// construction, so byte slicing is safe.)
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

impl TryFrom<String> for CardNumber {
    type Error = CardNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CardNumber::parse(&s)
    }
}

impl TryFrom<&str> for CardNumber {
    type Error = CardNumberError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        CardNumber::parse(s)
    }
}

/// Through `parse`, so JSON can never smuggle in an unchecked number.
impl<'de> Deserialize<'de> for CardNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CardNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn luhn_known_values() {
        assert_eq!(luhn_check_digit("7992739871"), Some(3));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(luhn_valid("4539578763621486"));
        assert!(!luhn_valid("4539578763621487"));
        assert_eq!(luhn_check_digit("603799123456789"), Some(3));
        assert_eq!(luhn_check_digit(""), Some(0));
        assert_eq!(luhn_check_digit("12a4"), None);
        assert_eq!(luhn_check_digit("۱۲۳"), None);
    }

    #[test]
    fn luhn_valid_refuses_non_digits_without_panicking() {
        for bad in [
            "",
            "a",
            "7992739871a",
            "799273987۳",
            "۷۹۹۲۷۳۹۸۷۱۳",
            "79927398713 ",
        ] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn parse_accepts_typed_forms() {
        for form in [
            "6037991234567893",
            "6037 9912 3456 7893",
            "6037-9912-3456-7893",
            "۶۰۳۷ ۹۹۱۲ ۳۴۵۶ ۷۸۹۳",
            "٦٠٣٧٩٩١٢٣٤٥٦٧٨٩٣",
            "\u{200E}6037 9912 3456 7893\n",
        ] {
            let n = CardNumber::parse(form).unwrap();
            assert_eq!(n.as_str(), "6037991234567893", "{form}");
            assert_eq!(n.display(), "6037 9912 3456 7893");
        }
    }

    #[test]
    fn parse_refuses_wrong_shapes_and_typos() {
        assert_eq!(
            CardNumber::parse("6037991234567894"),
            Err(CardNumberError::Checksum)
        );
        // Adjacent transposition (12 → 21).
        assert_eq!(
            CardNumber::parse("6037992134567893"),
            Err(CardNumberError::Checksum)
        );
        for bad in [
            "",
            "123",
            "603799123456789",
            "60379912345678930",
            "603799123456789x",
        ] {
            assert_eq!(
                CardNumber::parse(bad),
                Err(CardNumberError::Length),
                "{bad}"
            );
        }
    }

    #[test]
    fn from_body_needs_fifteen_ascii_digits() {
        assert_eq!(
            CardNumber::from_body("603799123456789").unwrap().as_str(),
            "6037991234567893"
        );
        for bad in [
            "60379912345678",
            "6037991234567890",
            "60379912345678a",
            "۶۰۳۷۹۹۱۲۳۴۵۶۷۸۹",
        ] {
            assert_eq!(CardNumber::from_body(bad), None, "{bad}");
        }
    }

    #[test]
    fn serde_and_conversions_go_through_parse() {
        let n: CardNumber = serde_json::from_str("\"6037 9912 3456 7893\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"6037991234567893\"");
        assert!(serde_json::from_str::<CardNumber>("\"6037991234567894\"").is_err());
        assert_eq!(
            CardNumber::try_from("6037991234567893".to_string()),
            Ok(n.clone())
        );
        assert_eq!("6037991234567893".parse::<CardNumber>(), Ok(n));
    }

    proptest! {
        #[test]
        fn a_single_mistyped_digit_is_caught(body in "[0-9]{15}", pos in 0usize..16, delta in 1u8..10) {
            let n = CardNumber::from_body(&body).unwrap();
            prop_assert!(n.as_str().starts_with(&body));
            prop_assert_eq!(CardNumber::parse(n.as_str()).unwrap(), n.clone());
            prop_assert_eq!(CardNumber::parse(&n.display()).unwrap(), n.clone());
            let mut bytes = n.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(!luhn_valid(&typo));
            prop_assert_eq!(CardNumber::parse(&typo), Err(CardNumberError::Checksum));
        }

        #[test]
        fn exactly_one_check_digit_fits(body in "[0-9]{0,30}") {
            let fits = ('0'..='9').filter(|c| luhn_valid(&format!("{body}{c}"))).count();
            prop_assert_eq!(fits, 1);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = luhn_valid(&s);
            let _ = luhn_check_digit(&s);
            let _ = CardNumber::from_body(&s);
            if let Ok(n) = CardNumber::parse(&s) {
                prop_assert!(luhn_valid(n.as_str()) && n.as_str().len() == 16);
            }
        }
    }
}
