//! The Iranian national id (کد ملی): 10 digits with a mod-11 check digit.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NationalId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NationalIdError {
    #[error("must be 10 digits (8 or 9 are padded with leading zeros)")]
    Length,
    #[error("must not be one digit repeated")]
    Repeated,
    #[error("check digit does not match: not a valid national id")]
    Checksum,
}

impl NationalId {
    pub fn parse(input: &str) -> Result<NationalId, NationalIdError> {
        let digits: String = crate::digits::normalize_digits(input)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if !(8..=10).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NationalIdError::Length);
        }
        let padded = format!("{digits:0>10}");
        let d: Vec<u32> = padded.bytes().map(|b| u32::from(b - b'0')).collect();
        if d.iter().all(|&x| x == d[0]) {
            return Err(NationalIdError::Repeated);
        }
        let s: u32 = (0..9).map(|i| d[i] * (10 - i as u32)).sum();
        let r = s % 11;
        let ok = if r < 2 { d[9] == r } else { d[9] == 11 - r };
        if !ok {
            return Err(NationalIdError::Checksum);
        }
        Ok(NationalId(padded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_facts() {
        for ok in [
            "0076229645",
            "0499370899",
            "3020588391",
            "۰۰۷۶۲۲۹۶۴۵",
            "007-622964-5",
        ] {
            assert!(NationalId::parse(ok).is_ok(), "{ok}");
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
        assert_eq!(NationalId::parse("1234567"), Err(NationalIdError::Length));
    }
}
