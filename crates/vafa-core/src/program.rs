//! A program is one tenant: a business (or a coalition) with its own customers,
//! currency, calendar and time zone. Every stored row carries its id.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The currency a program's money is kept in, with its fixed minor-unit scale.
///
/// Toman is not a currency here: it is a display choice of rials / 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Irr,
    Usd,
    Eur,
    Aed,
    Try,
}

impl Currency {
    pub const ALL: [Currency; 5] = [
        Currency::Irr,
        Currency::Usd,
        Currency::Eur,
        Currency::Aed,
        Currency::Try,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Irr => "IRR",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Aed => "AED",
            Currency::Try => "TRY",
        }
    }

    /// Digits after the decimal point of the minor unit (IRR has none).
    pub fn scale(self) -> u32 {
        match self {
            Currency::Irr => 0,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == upper)
            .ok_or_else(|| {
                format!("unsupported currency {s:?}: expected one of IRR, USD, EUR, AED, TRY")
            })
    }
}

/// The language the program's staff UI and messages default to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Fa,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fa => "fa",
            Locale::En => "en",
        }
    }
}

impl FromStr for Locale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "fa" | "fa-IR" => Ok(Locale::Fa),
            "en" | "en-US" | "en-GB" => Ok(Locale::En),
            other => Err(format!("unsupported locale {other:?}: expected fa or en")),
        }
    }
}

/// An IANA time zone name that the bundled tz database knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        match jiff::tz::TimeZone::get(name) {
            Ok(_) => Ok(TimeZoneName(name.to_owned())),
            Err(_) => Err(format!(
                "unknown time zone {name:?} (expected e.g. Asia/Tehran)"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What is needed to open a program.
#[derive(Debug, Clone)]
pub struct NewProgram {
    pub name: String,
    pub currency: Currency,
    pub timezone: TimeZoneName,
    pub locale: Locale,
}

impl NewProgram {
    pub fn parse(
        name: &str,
        currency: &str,
        timezone: &str,
        locale: &str,
    ) -> Result<Self, crate::FieldErrors> {
        let mut errs = crate::FieldErrors::default();
        let name = match crate::validate::short_text(name, 120) {
            Ok(Some(n)) => Some(n),
            Ok(None) => {
                errs.push("name", "must not be empty");
                None
            }
            Err(e) => {
                errs.push("name", e);
                None
            }
        };
        let currency = errs.take("currency", currency.parse::<Currency>());
        let timezone = errs.take("timezone", TimeZoneName::parse(timezone));
        let locale = errs.take("locale", locale.parse::<Locale>());
        match (name, currency, timezone, locale) {
            (Some(name), Some(currency), Some(timezone), Some(locale)) if errs.is_empty() => {
                Ok(NewProgram {
                    name,
                    currency,
                    timezone,
                    locale,
                })
            }
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_needs_known_currency_zone_and_locale() {
        let p = NewProgram::parse("کافه وفا", "irr", "Asia/Tehran", "fa").unwrap();
        assert_eq!(p.currency, Currency::Irr);
        assert_eq!(p.currency.scale(), 0);
        let e = NewProgram::parse("", "XXX", "Mars/Olympus", "de").unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "currency", "timezone", "locale"]);
    }
}
