//! Calendar dates typed by people: Gregorian ISO or Solar Hijri (Jalali), converted with
//! ICU's Persian calendar. Dates are stored as Gregorian `jiff::civil::Date`.

use icu_calendar::{cal::Persian, Date as IcuDate, Iso};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DateError {
    #[error("is not a date (expected 1991-08-03 or Jalali 1370/05/12)")]
    Format,
    #[error("is not a real day in the calendar")]
    NoSuchDay,
}

/// A Solar Hijri date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JalaliDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl fmt::Display for JalaliDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

/// Years below this are Jalali; Gregorian birth dates are all far above it.
const JALALI_BELOW_YEAR: i32 = 1700;

/// Parse `YYYY-MM-DD` or `YYYY/MM/DD` (also with Persian digits); a year below 1700 is Jalali.
pub fn parse_calendar_date(input: &str) -> Result<jiff::civil::Date, DateError> {
    let s = crate::digits::normalize_digits(input.trim());
    let sep = if s.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = s.split(sep).collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(DateError::Format);
    };
    let numeric = |p: &str, max_len: usize| {
        !p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit())
    };
    if !(y.len() == 4 && numeric(y, 4) && numeric(m, 2) && numeric(d, 2)) {
        return Err(DateError::Format);
    }
    let (year, month, day): (i32, u8, u8) = match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) => (y, m, d),
        _ => return Err(DateError::Format),
    };
    if year < JALALI_BELOW_YEAR {
        return from_jalali(year, month, day);
    }
    jiff::civil::Date::new(year as i16, month as i8, day as i8).map_err(|_| DateError::NoSuchDay)
}

fn from_jalali(year: i32, month: u8, day: u8) -> Result<jiff::civil::Date, DateError> {
    let persian = IcuDate::try_new_persian(year, month, day).map_err(|_| DateError::NoSuchDay)?;
    let iso = persian.to_calendar(Iso);
    let (y, m, d) = (
        iso.year().extended_year(),
        iso.month().ordinal,
        iso.day_of_month().0,
    );
    // ICU may clamp rather than refuse; a round trip proves the day exists.
    let back = to_jalali_parts(y, m, d).ok_or(DateError::NoSuchDay)?;
    if back != (JalaliDate { year, month, day }) {
        return Err(DateError::NoSuchDay);
    }
    jiff::civil::Date::new(y as i16, m as i8, d as i8).map_err(|_| DateError::NoSuchDay)
}

fn to_jalali_parts(year: i32, month: u8, day: u8) -> Option<JalaliDate> {
    let iso = IcuDate::try_new_iso(year, month, day).ok()?;
    let p = iso.to_calendar(Persian);
    Some(JalaliDate {
        year: p.year().extended_year(),
        month: p.month().ordinal,
        day: p.day_of_month().0,
    })
}

/// The Jalali form of a Gregorian date.
pub fn to_jalali(date: jiff::civil::Date) -> JalaliDate {
    let fallback = JalaliDate {
        year: 0,
        month: 1,
        day: 1,
    };
    to_jalali_parts(i32::from(date.year()), date.month() as u8, date.day() as u8)
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn checked_facts() {
        assert_eq!(parse_calendar_date("1403/01/01"), Ok(date(2024, 3, 20)));
        assert_eq!(parse_calendar_date("۱۳۷۰/۰۵/۱۲"), Ok(date(1991, 8, 3)));
        assert_eq!(parse_calendar_date("1370-05-12"), Ok(date(1991, 8, 3)));
        assert_eq!(parse_calendar_date("1991-08-03"), Ok(date(1991, 8, 3)));
        // 1403 is a leap year: its 30 Esfand is 2025-03-20.
        assert_eq!(to_jalali(date(2025, 3, 20)).to_string(), "1403/12/30");
        assert_eq!(parse_calendar_date("1403/12/30"), Ok(date(2025, 3, 20)));
    }

    #[test]
    fn impossible_days_are_refused() {
        for bad in [
            "1403/13/01",
            "1402/12/30",
            "1403/07/31",
            "2023-02-30",
            "1991-13-01",
            "12/05/1370",
            "1370/5",
            "abc",
            "",
            "1370/05/12/1",
        ] {
            assert!(parse_calendar_date(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn gregorian_to_jalali_and_back(days in 0i32..(200 * 366)) {
            let d = date(1900, 1, 1).checked_add(jiff::Span::new().days(i64::from(days))).unwrap();
            prop_assume!(d.year() <= 2100);
            let j = to_jalali(d);
            prop_assert_eq!(parse_calendar_date(&j.to_string()), Ok(d));
        }
    }
}
