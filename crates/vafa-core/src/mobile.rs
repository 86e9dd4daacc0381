//! Iranian mobile numbers. The mobile is how customers are found at the counter and
//! reached by SMS, and people write it a dozen ways (`0912…`, `+98912…`, `0098…`, with
//! spaces, in Persian digits). Parsing accepts them all and stores one form, E.164
//! `+989XXXXXXXXX`, so one person cannot become two customers by typing differently.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

/// A valid Iranian mobile number, held in E.164 form `+989XXXXXXXXX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Mobile(String);

/// The operator a prefix was first assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Mci,
    Irancell,
    Rightel,
}

/// Messages read after the field name: "mobile is empty".
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MobileError {
    #[error("is empty")]
    Empty,
    #[error("is not an Iranian mobile number (expected e.g. 09121234567)")]
    Invalid,
}

/// Prefixes allowed before the national `9XXXXXXXXX`: `^(?:\+98|0098|98|0)?9\d{9}$`.
/// Each has a different length, so for a given input length at most one can leave the
/// ten national digits; trying them in any order gives the same answer.
const PREFIXES: [&str; 4] = ["+98", "0098", "98", "0"];

impl Mobile {
    /// Accepts `09121234567`, `9121234567`, `+989121234567`, `00989121234567`, with
    /// spaces, dashes or parentheses, in ASCII, Persian or Arabic-Indic digits.
    pub fn parse(input: &str) -> Result<Mobile, MobileError> {
        let cleaned = crate::digits::compact_number(input, &['-', '(', ')']);
        if cleaned.is_empty() {
            return Err(MobileError::Empty);
        }
        let national = PREFIXES
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

    /// `+989121234567`: the stored and sent form.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// `09121234567`: the form Iranians write. (The string is ASCII by construction, so
    /// byte slicing is safe here and below.)
    pub fn local(&self) -> String {
        format!("0{}", &self.0[3..])
    }

    /// `0912 123 4567`; the Persian UI converts the digits with `to_persian_digits`.
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

impl TryFrom<String> for Mobile {
    type Error = MobileError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Mobile::parse(&s)
    }
}

impl TryFrom<&str> for Mobile {
    type Error = MobileError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Mobile::parse(s)
    }
}

/// Through `parse`, so JSON can never smuggle in an unchecked number.
impl<'de> Deserialize<'de> for Mobile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Mobile::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
            "+98 (912) 123-45-67",
            "  09121234567\n",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "٠٩١٢١٢٣٤٥٦٧",
            "+۹۸۹۱۲۱۲۳۴۵۶۷",
            "۰۹۱۲ ۱۲۳ ۴۵۶۷",
            "\u{200E}0912\u{00A0}123\u{00A0}4567\u{200F}",
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
            "+982112345678",
            "0912123456",
            "091212345678",
            "+9891212345678",
            "0989121234567",
            "+9121234567",
            "+0989121234567",
            "09121234567x",
            "0912.123.4567",
            "+1 912 123 4567",
            "08121234567",
            "912123456",
        ] {
            assert_eq!(Mobile::parse(bad), Err(MobileError::Invalid), "{bad}");
        }
        assert_eq!(Mobile::parse(""), Err(MobileError::Empty));
        assert_eq!(Mobile::parse(" - ( ) "), Err(MobileError::Empty));
    }

    #[test]
    fn local_and_display_forms() {
        let m = Mobile::parse("+989351234567").unwrap();
        assert_eq!(m.as_e164(), "+989351234567");
        assert_eq!(m.to_string(), "+989351234567");
        assert_eq!(m.local(), "09351234567");
        assert_eq!(m.display(), "0935 123 4567");
        assert_eq!(
            crate::digits::to_persian_digits(&m.display()),
            "۰۹۳۵ ۱۲۳ ۴۵۶۷"
        );
    }

    #[test]
    fn operator_hint_follows_the_prefix_table() {
        let hint = |n: &str| Mobile::parse(n).unwrap().operator_hint();
        for (n, op) in [
            ("09101234567", Some(Operator::Mci)),
            ("09191234567", Some(Operator::Mci)),
            ("09901234567", Some(Operator::Mci)),
            ("09961234567", Some(Operator::Mci)),
            ("09001234567", Some(Operator::Irancell)),
            ("09051234567", Some(Operator::Irancell)),
            ("09301234567", Some(Operator::Irancell)),
            ("09331234567", Some(Operator::Irancell)),
            ("09391234567", Some(Operator::Irancell)),
            ("09411234567", Some(Operator::Irancell)),
            ("09201234567", Some(Operator::Rightel)),
            ("09231234567", Some(Operator::Rightel)),
            ("09061234567", None),
            ("09241234567", None),
            ("09311234567", None),
            ("09341234567", None),
            ("09971234567", None),
        ] {
            assert_eq!(hint(n), op, "{n}");
        }
    }

    #[test]
    fn serde_and_conversions_go_through_parse() {
        let m: Mobile = serde_json::from_str("\"۰۹۱۲ ۱۲۳ ۴۵۶۷\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"+989121234567\"");
        assert!(serde_json::from_str::<Mobile>("\"02112345678\"").is_err());
        assert_eq!(Mobile::try_from("09121234567".to_string()), Ok(m.clone()));
        assert_eq!(Mobile::try_from("9121234567"), Ok(m.clone()));
        assert_eq!("00989121234567".parse::<Mobile>(), Ok(m));
    }

    proptest! {
        #[test]
        fn any_nine_digits_after_9_round_trip(rest in "[0-9]{9}") {
            let e164 = format!("+989{rest}");
            let m = Mobile::parse(&format!("09{rest}")).unwrap();
            prop_assert_eq!(m.as_e164(), e164.as_str());
            prop_assert_eq!(Mobile::parse(&m.local()).unwrap(), m.clone());
            prop_assert_eq!(Mobile::parse(&m.display()).unwrap(), m.clone());
            prop_assert_eq!(Mobile::parse(&m.as_e164()[1..]).unwrap(), m.clone());
            prop_assert_eq!(Mobile::parse(&crate::digits::to_persian_digits(&m.local())).unwrap(), m);
        }

        #[test]
        fn parse_never_panics_and_only_yields_e164(s in "\\PC{0,20}") {
            if let Ok(m) = Mobile::parse(&s) {
                prop_assert!(m.as_e164().starts_with("+989") && m.as_e164().len() == 13);
            }
        }
    }
}
