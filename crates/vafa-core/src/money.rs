//! Money: integer minor units at the currency's fixed scale. On the wire an amount is
//! a decimal string (`"125000"` rials, `"12.50"` dollars), never a float.

use crate::program::Currency;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

/// The largest amount one request may carry, in minor units (10¹⁴: ten trillion toman,
/// a trillion dollars). Far above any sale, and far enough below `i64::MAX` that a
/// line's quantity times its price, a purchase's lines and a customer's running totals
/// stay exact integers.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("is not an amount (expected a decimal string such as \"125000\")")]
    Format,
    #[error("has more than {0} decimal places for this currency")]
    Scale(u32),
    #[error("is too large")]
    Overflow,
    #[error("must not be negative")]
    Negative,
    #[error("is in {got}, but this program keeps money in {want}")]
    Currency { got: String, want: Currency },
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Money {
        Money {
            amount_minor,
            currency,
        }
    }

    /// Parse a non-negative decimal string. Persian and Arabic digits are accepted, `٫`
    /// as the decimal point, and `٬` or `,` between groups of three digits in the whole
    /// part (`۱۲۵٬۰۰۰`, `1,250.50`); a separator anywhere else is refused, never dropped:
    /// `12,50` read as 1250 would be a hundred times the amount meant.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let s: String = crate::digits::normalize_digits(amount.trim())
            .chars()
            .map(|c| if c == '\u{066B}' { '.' } else { c })
            .collect();
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (grouped, frac) = s.split_once('.').unwrap_or((&s, ""));
        let int = ungroup(grouped).ok_or(MoneyError::Format)?;
        let int = int.as_str();
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::Format);
        }
        let scale = currency.scale() as usize;
        let frac = frac.trim_end_matches('0');
        if frac.len() > scale {
            return Err(MoneyError::Scale(currency.scale()));
        }
        let digits = format!("{int}{frac:0<scale$}");
        let amount_minor = digits
            .parse::<i64>()
            .ok()
            .filter(|m| *m <= MAX_AMOUNT_MINOR)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            amount_minor,
            currency,
        })
    }

    /// The wire form: a decimal string at the currency's scale.
    pub fn amount_string(&self) -> String {
        format_minor(self.amount_minor, self.currency.scale())
    }

    pub fn expect_currency(self, want: Currency) -> Result<Money, MoneyError> {
        if self.currency == want {
            Ok(self)
        } else {
            Err(MoneyError::Currency {
                got: self.currency.code().into(),
                want,
            })
        }
    }
}

/// The digits of a whole part written plain (`1250000`) or in groups of three under one
/// separator (`1,250,000`, `۱٬۲۵۰٬۰۰۰`); None for any other use of a separator.
pub fn ungroup(int: &str) -> Option<String> {
    let Some(sep) = int.chars().find(|c| matches!(c, ',' | '\u{066C}')) else {
        return Some(int.to_owned());
    };
    let groups: Vec<&str> = int.split(sep).collect();
    let first = groups[0].len();
    let well_formed = (1..=3).contains(&first)
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    well_formed.then(|| groups.concat())
}

pub fn format_minor(minor: i64, scale: u32) -> String {
    if scale == 0 {
        return minor.to_string();
    }
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let div = 10u64.pow(scale);
    format!(
        "{sign}{}.{:0width$}",
        abs / div,
        abs % div,
        width = scale as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_at_the_currency_scale() {
        assert_eq!(
            Money::parse("125000", Currency::Irr).unwrap().amount_minor,
            125_000
        );
        assert_eq!(
            Money::parse("۱۲۵٬۰۰۰", Currency::Irr).unwrap().amount_minor,
            125_000
        );
        assert_eq!(
            Money::parse("12.50", Currency::Usd).unwrap().amount_minor,
            1250
        );
        assert_eq!(
            Money::parse("12.5", Currency::Usd).unwrap().amount_string(),
            "12.50"
        );
        assert_eq!(
            Money::parse("10.0", Currency::Irr).unwrap().amount_minor,
            10
        );
        assert_eq!(
            Money::parse("10.5", Currency::Irr),
            Err(MoneyError::Scale(0))
        );
        assert_eq!(Money::parse("-1", Currency::Irr), Err(MoneyError::Negative));
        assert_eq!(Money::parse("1e5", Currency::Irr), Err(MoneyError::Format));
        assert_eq!(
            Money::parse("99999999999999999999", Currency::Irr),
            Err(MoneyError::Overflow)
        );
        assert_eq!(format_minor(-5, 2), "-0.05");
    }

    #[test]
    fn a_separator_is_read_only_between_groups_of_three() {
        let minor = |s: &str, c| Money::parse(s, c).map(|m| m.amount_minor);
        assert_eq!(minor("1,250,000", Currency::Irr), Ok(1_250_000));
        assert_eq!(minor("۱٬۲۵۰٬۰۰۰", Currency::Irr), Ok(1_250_000));
        assert_eq!(minor("1,250.50", Currency::Eur), Ok(125_050));
        assert_eq!(minor("۱۲٫۵", Currency::Eur), Ok(1_250));
        // A comma as a decimal point would be read a hundred times too large.
        for bad in [
            "12,50",
            "1,,000",
            "1,0,0",
            ",100",
            "100,",
            "1,2345",
            "1_000",
            "_1_0",
            "1,000٬000",
            "1.000,5",
        ] {
            assert_eq!(minor(bad, Currency::Eur), Err(MoneyError::Format), "{bad}");
        }
    }
}
