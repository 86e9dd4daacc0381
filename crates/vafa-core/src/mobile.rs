//! Iranian mobile numbers: accepted in every usual form, stored as E.164 `+989XXXXXXXXX`.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Mobile(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Mci,
    Irancell,
    Rightel,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MobileError {
    #[error("is empty")]
    Empty,
    #[error("is not an Iranian mobile number (expected e.g. 09121234567)")]
    Invalid,
}

impl Mobile {
    /// Accepts `09121234567`, `9121234567`, `+989121234567`, `00989121234567`, with
    /// spaces, dashes or parentheses, in ASCII, Persian or Arabic-Indic digits.
    pub fn parse(input: &str) -> Result<Mobile, MobileError> {
        let cleaned: String = crate::digits::normalize_digits(input)
            .chars()
            .filter(|c| {
                !matches!(
                    c,
                    ' ' | '-' | '(' | ')' | '\u{200C}' | '\u{200E}' | '\u{200F}'
                )
            })
            .collect();
        if cleaned.is_empty() {
            return Err(MobileError::Empty);
        }
        let national = ["+98", "0098", "98", "0"]
            .iter()
            .find_map(|p| cleaned.strip_prefix(p).filter(|rest| rest.len() == 10))
            .unwrap_or(&cleaned);
        let valid = national.len() == 10
            && national.starts_with('9')
            && national.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(MobileError::Invalid);
        }
        Ok(Mobile(format!("+98{national}")))
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// `09121234567`
    pub fn local(&self) -> String {
        format!("0{}", &self.0[3..])
    }

    /// `0912 123 4567`
    pub fn display(&self) -> String {
        let l = self.local();
        format!("{} {} {}", &l[..4], &l[4..7], &l[7..])
    }

    /// The operator the prefix was first assigned to: a hint only, numbers are ported.
    pub fn operator_hint(&self) -> Option<Operator> {
        let prefix: u16 = self.0[3..6].parse().ok()?;
        match prefix {
            910..=919 | 990..=996 => Some(Operator::Mci),
            900..=905 | 930 | 933 | 935..=939 | 941 => Some(Operator::Irancell),
            920..=923 => Some(Operator::Rightel),
            _ => None,
        }
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Mobile {
    type Err = MobileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mobile::parse(s)
    }
}

impl<'de> Deserialize<'de> for Mobile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Mobile::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_usual_form_is_the_same_number() {
        for form in [
            "09121234567",
            "9121234567",
            "+989121234567",
            "00989121234567",
            "989121234567",
            "0912 123 4567",
            "0912-123-4567",
            "(0912) 123 4567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "٠٩١٢١٢٣٤٥٦٧",
            "+۹۸۹۱۲۱۲۳۴۵۶۷",
        ] {
            assert_eq!(
                Mobile::parse(form).unwrap().as_e164(),
                "+989121234567",
                "{form}"
            );
        }
    }

    #[test]
    fn landlines_letters_and_wrong_lengths_are_refused() {
        for bad in [
            "09abcdefghi",
            "02112345678",
            "0912123456",
            "091212345678",
            "",
            "  ",
            "+1 912 123 4567",
            "08121234567",
        ] {
            assert!(Mobile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_and_operator() {
        let m = Mobile::parse("09351234567").unwrap();
        assert_eq!(m.local(), "09351234567");
        assert_eq!(m.display(), "0935 123 4567");
        assert_eq!(m.operator_hint(), Some(Operator::Irancell));
        assert_eq!(
            Mobile::parse("09121234567").unwrap().operator_hint(),
            Some(Operator::Mci)
        );
        assert_eq!(
            Mobile::parse("09201234567").unwrap().operator_hint(),
            Some(Operator::Rightel)
        );
    }

    proptest! {
        #[test]
        fn any_nine_digits_after_9_round_trip(rest in "[0-9]{9}") {
            let e164 = format!("+989{rest}");
            let m = Mobile::parse(&format!("09{rest}")).unwrap();
            prop_assert_eq!(m.as_e164(), e164.as_str());
            prop_assert_eq!(Mobile::parse(&m.local()).unwrap(), m.clone());
            prop_assert_eq!(Mobile::parse(&crate::digits::to_persian_digits(&m.local())).unwrap(), m);
        }
    }
}
