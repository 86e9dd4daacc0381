//! The Iranian national id (کد ملی): 10 digits, the last a mod-11 check digit. It is an
//! optional, unique customer attribute, so a typo must be refused at the door rather
//! than create a second identity. Old cards and spreadsheets drop leading zeros, so 8–9
//! digit inputs are padded back to 10.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

/// A national id with a valid check digit, held as 10 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NationalId(String);

/// Messages read after the field name: "national_id must be 10 digits …".
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NationalIdError {
    #[error("must be 10 digits (8 or 9 are padded with leading zeros)")]
    Length,
    #[error("must not be one digit repeated")]
    Repeated,
    #[error("check digit does not match: not a valid national id")]
    Checksum,
}

impl NationalId {
    /// Accepts ASCII, Persian or Arabic-Indic digits with spaces or dashes.
    pub fn parse(input: &str) -> Result<NationalId, NationalIdError> {
        let digits = crate::digits::compact_number(input, &['-']);
        if !(8..=10).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NationalIdError::Length);
        }
        let padded = format!("{digits:0>10}");
        let d: Vec<u32> = padded.bytes().map(|b| u32::from(b - b'0')).collect();
        // `1111111111` and friends pass the checksum but are placeholders, not people.
        if d.iter().all(|&x| x == d[0]) {
            return Err(NationalIdError::Repeated);
        }
        if check_digit(&d[..9]) != d[9] {
            return Err(NationalIdError::Checksum);
        }
        Ok(NationalId(padded))
    }

    /// The 10 ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `s = Σ d_i·(10−i)` over the first nine digits, `r = s mod 11`; the check digit is `r`
/// when `r < 2`, else `11 − r`.
fn check_digit(first9: &[u32]) -> u32 {
    let s: u32 = first9.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
    let r = s % 11;
    if r < 2 {
        r
    } else {
        11 - r
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NationalId {
    type Err = NationalIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NationalId::parse(s)
    }
}

impl TryFrom<String> for NationalId {
    type Error = NationalIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        NationalId::parse(&s)
    }
}

impl TryFrom<&str> for NationalId {
    type Error = NationalIdError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        NationalId::parse(s)
    }
}

/// Through `parse`, so JSON can never smuggle in an unchecked id.
impl<'de> Deserialize<'de> for NationalId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NationalId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn checked_facts() {
        for ok in ["0076229645", "0499370899", "3020588391"] {
            assert_eq!(NationalId::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            NationalId::parse("11537027").unwrap().as_str(),
            "0011537027"
        );
        assert_eq!(
            NationalId::parse("0499370898"),
            Err(NationalIdError::Checksum)
        );
        assert_eq!(
            NationalId::parse("3020588392"),
            Err(NationalIdError::Checksum)
        );
        assert_eq!(
            NationalId::parse("1111111111"),
            Err(NationalIdError::Repeated)
        );
        assert_eq!(NationalId::parse("abc"), Err(NationalIdError::Length));
    }

    #[test]
    fn typed_forms_are_accepted() {
        for ok in [
            "۰۰۷۶۲۲۹۶۴۵",
            "٠٠٧٦٢٢٩٦٤٥",
            "007-622964-5",
            " 007 622 964 5 ",
            "76229645",
            "076229645",
        ] {
            assert_eq!(
                NationalId::parse(ok).unwrap().as_str(),
                "0076229645",
                "{ok}"
            );
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for bad in ["", "1234567", "12345678901", "00762296a5", "0076229645x"] {
            assert_eq!(
                NationalId::parse(bad),
                Err(NationalIdError::Length),
                "{bad}"
            );
        }
        assert_eq!(
            NationalId::parse("00000000"),
            Err(NationalIdError::Repeated)
        );
        assert_eq!(
            NationalId::parse("۰۰۷۶۲۲۹۶۴۶"),
            Err(NationalIdError::Checksum)
        );
    }

    #[test]
    fn all_branches_of_the_check_digit_rule() {
        // s = 1·3 + 4·2 = 11, r = 0: the check digit is r itself.
        assert!(NationalId::parse("0000000140").is_ok());
        assert_eq!(
            NationalId::parse("0000000141"),
            Err(NationalIdError::Checksum)
        );
        // s = 6·2 = 12, r = 1: still r itself, not 11 − r = 10.
        assert!(NationalId::parse("0000000061").is_ok());
        assert_eq!(
            NationalId::parse("0000000060"),
            Err(NationalIdError::Checksum)
        );
        // s = 1·2 = 2, r = 2: 11 − r.
        assert!(NationalId::parse("0000000019").is_ok());
    }

    #[test]
    fn serde_and_conversions_go_through_parse() {
        let id: NationalId = serde_json::from_str("\"۰۰۷۶۲۲۹۶۴۵\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0076229645\"");
        assert!(serde_json::from_str::<NationalId>("\"0499370898\"").is_err());
        assert_eq!(NationalId::try_from("76229645".to_string()), Ok(id.clone()));
        assert_eq!("0076229645".parse::<NationalId>(), Ok(id));
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_fits(first9 in "[0-9]{9}") {
            prop_assume!(!first9.bytes().all(|b| b == first9.as_bytes()[0]));
            let valid: Vec<char> = ('0'..='9')
                .filter(|c| NationalId::parse(&format!("{first9}{c}")).is_ok())
                .collect();
            prop_assert_eq!(valid.len(), 1);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,16}") {
            if let Ok(id) = NationalId::parse(&s) {
                prop_assert!(id.as_str().len() == 10 && id.as_str().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
