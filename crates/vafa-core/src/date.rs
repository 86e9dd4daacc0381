//! Calendar dates typed by people (birthdays, anniversaries): Iranians write Solar Hijri
//! (Jalali) dates such as `1370/05/12`, integrations send ISO `1991-08-03`. Both parse to
//! one stored form, a Gregorian `jiff::civil::Date`; Jalali is a way of reading and
//! writing it. The conversion is ICU's Persian calendar (the 33-year rule with
//! corrections, matching the official calendar for 1178–3000 AP), never hand-rolled.

use icu_calendar::{cal::Persian, Date as IcuDate, Iso};
use std::fmt;

/// Messages read after the field name: "birth_date is not a real day …".
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DateError {
    #[error("is not a date (expected 1991-08-03 or Jalali 1370/05/12)")]
    Format,
    #[error("is not a real day in the calendar")]
    NoSuchDay,
}

/// A Solar Hijri date. Field order makes the derived ordering chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JalaliDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// `1403/01/01`, the way Iranians write dates (digits converted for display elsewhere).
impl fmt::Display for JalaliDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

/// Four-digit years below this are Jalali, at or above it Gregorian. Jalali 1699 is
/// Gregorian 2320, and no customer's Gregorian date precedes 1700, so the two ranges
/// cannot be confused for any date this system stores.
const JALALI_BELOW_YEAR: i32 = 1700;

/// Parse `YYYY-MM-DD` or `YYYY/MM/DD` (any digit set, surrounding spaces ignored). A
/// year below 1700 is Jalali, otherwise Gregorian. Month and day may be one or two
/// digits (`1370/5/12`), the year exactly four, which also caps it at 9999.
pub fn parse_calendar_date(input: &str) -> Result<jiff::civil::Date, DateError> {
    let (year, month, day) = split_ymd(&crate::digits::normalize_digits(input.trim()))?;
    if year == 0 {
        // Neither calendar as people use it has a year zero.
        return Err(DateError::NoSuchDay);
    }
    if year < JALALI_BELOW_YEAR {
        return from_jalali(year, month, day);
    }
    let (y, m, d) = (year as i16, month as i8, day as i8); // bounded by split_ymd
    jiff::civil::Date::new(y, m, d).map_err(|_| DateError::NoSuchDay)
}

/// `YYYY?MM?DD` with one separator, `/` or `-`, used twice; mixed separators are refused.
fn split_ymd(s: &str) -> Result<(i32, u8, u8), DateError> {
    let sep = if s.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = s.split(sep).collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(DateError::Format);
    };
    let numeric = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if !(numeric(y, 4..=4) && numeric(m, 1..=2) && numeric(d, 1..=2)) {
        return Err(DateError::Format);
    }
    match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) => Ok((y, m, d)),
        _ => Err(DateError::Format),
    }
}

pub(crate) fn from_jalali(year: i32, month: u8, day: u8) -> Result<jiff::civil::Date, DateError> {
    // ICU refuses month 13 and day 30 of Esfand in a common year.
    let persian = IcuDate::try_new_persian(year, month, day).map_err(|_| DateError::NoSuchDay)?;
    let iso = persian.to_calendar(Iso);
    let (y, m, d) = (
        iso.year().extended_year(),
        iso.month().ordinal,
        iso.day_of_month().0,
    );
    // Belt and braces: should a future ICU clamp instead of refusing, the round trip
    // would differ and the day is still refused.
    if to_jalali_parts(y, m, d) != Some(JalaliDate { year, month, day }) {
        return Err(DateError::NoSuchDay);
    }
    let y = i16::try_from(y).map_err(|_| DateError::NoSuchDay)?;
    jiff::civil::Date::new(y, m as i8, d as i8).map_err(|_| DateError::NoSuchDay)
}

fn to_jalali_parts(year: i32, month: u8, day: u8) -> Option<JalaliDate> {
    let p = IcuDate::try_new_iso(year, month, day)
        .ok()?
        .to_calendar(Persian);
    Some(JalaliDate {
        year: p.year().extended_year(),
        month: p.month().ordinal,
        day: p.day_of_month().0,
    })
}

/// The Jalali form of a Gregorian date.
pub fn to_jalali(date: jiff::civil::Date) -> JalaliDate {
    // ICU's ISO constructor takes years -9999..=9999, exactly jiff's range, so every
    // jiff date converts (a test pins both ends); the fallback only keeps this total.
    let fallback = JalaliDate {
        year: 0,
        month: 1,
        day: 1,
    };
    to_jalali_parts(i32::from(date.year()), date.month() as u8, date.day() as u8)
        .unwrap_or(fallback)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::{date, Date};
    use proptest::prelude::*;

    #[test]
    fn checked_facts() {
        assert_eq!(parse_calendar_date("1403/01/01"), Ok(date(2024, 3, 20)));
        assert_eq!(parse_calendar_date("۱۳۷۰/۰۵/۱۲"), Ok(date(1991, 8, 3)));
        assert_eq!(parse_calendar_date("1370/05/12"), Ok(date(1991, 8, 3)));
        assert_eq!(parse_calendar_date("1991-08-03"), Ok(date(1991, 8, 3)));
        // 1403 is a leap year: its 30 Esfand is 2025-03-20.
        assert_eq!(to_jalali(date(2025, 3, 20)).to_string(), "1403/12/30");
        assert_eq!(parse_calendar_date("1403/12/30"), Ok(date(2025, 3, 20)));
    }

    #[test]
    fn accepted_spellings() {
        for form in [
            "1370-05-12",
            "1370/5/12",
            "  1370/05/12\n",
            "١٣٧٠/٠٥/١٢",
            "1991-8-3",
            "1991/08/03",
            "۱۹۹۱-۰۸-۰۳",
        ] {
            assert_eq!(parse_calendar_date(form), Ok(date(1991, 8, 3)), "{form}");
        }
    }

    #[test]
    fn impossible_days_are_refused() {
        for bad in [
            "1403/13/01",
            "1403/00/10",
            "1403/01/00",
            "1402/12/30",
            "1403/07/31",
            "1403/01/32",
            "2023-02-30",
            "2023-02-29",
            "1991-13-01",
            "0000-01-01",
        ] {
            assert_eq!(parse_calendar_date(bad), Err(DateError::NoSuchDay), "{bad}");
        }
    }

    #[test]
    fn malformed_input_is_refused() {
        for bad in [
            "12/05/1370",
            "70/05/12",
            "10000-01-01",
            "1370/5",
            "1370/05-12",
            "1370/005/12",
            "1370 05 12",
            "+1370/05/12",
            "-1370-05-12",
            "1370/05/12/1",
            "1370/05/12T00",
            "abc",
            "",
        ] {
            assert_eq!(parse_calendar_date(bad), Err(DateError::Format), "{bad}");
        }
    }

    #[test]
    fn month_lengths_and_leap_years() {
        // First six months have 31 days, the next five 30, Esfand 29 or 30.
        assert_eq!(parse_calendar_date("1402/06/31"), Ok(date(2023, 9, 22)));
        assert_eq!(parse_calendar_date("1402/07/30"), Ok(date(2023, 10, 22)));
        assert_eq!(parse_calendar_date("1402/12/29"), Ok(date(2024, 3, 19)));
        assert_eq!(parse_calendar_date("1399/12/30"), Ok(date(2021, 3, 20)));
        assert_eq!(parse_calendar_date("1404/01/01"), Ok(date(2025, 3, 21)));
        assert_eq!(to_jalali(date(2024, 3, 19)).to_string(), "1402/12/29");
    }

    #[test]
    fn the_year_1700_splits_the_calendars() {
        assert_eq!(parse_calendar_date("1700-01-01"), Ok(date(1700, 1, 1)));
        let last_jalali = parse_calendar_date("1699/12/29").unwrap();
        assert_eq!(last_jalali.year(), 2321);
        assert_eq!(parse_calendar_date("9999-12-31"), Ok(date(9999, 12, 31)));
    }

    #[test]
    fn jalali_display_and_extremes() {
        let j = JalaliDate {
            year: 1403,
            month: 1,
            day: 1,
        };
        assert_eq!(j.to_string(), "1403/01/01");
        assert_eq!(to_jalali(date(2024, 3, 20)), j);
        assert!(to_jalali(date(2024, 3, 19)) < j);
        // Both ends of jiff's range convert for real, not through the fallback.
        for d in [Date::MIN, Date::MAX] {
            let j = to_jalali(d);
            assert_eq!(
                to_jalali_parts(i32::from(d.year()), d.month() as u8, d.day() as u8),
                Some(j)
            );
            assert_ne!(j.year, 0);
        }
    }

    /// 1900-01-01 plus 0..=73413 days is exactly 1900-01-01..=2100-12-31.
    fn date_1900_to_2100() -> impl Strategy<Value = Date> {
        (0i64..=73_413).prop_map(|n| {
            date(1900, 1, 1)
                .checked_add(jiff::Span::new().days(n))
                .unwrap()
        })
    }

    proptest! {
        #[test]
        fn gregorian_to_jalali_and_back(d in date_1900_to_2100()) {
            let j = to_jalali(d);
            prop_assert_eq!(parse_calendar_date(&j.to_string()), Ok(d));
            let persian = crate::digits::to_persian_digits(&j.to_string());
            prop_assert_eq!(parse_calendar_date(&persian), Ok(d));
            prop_assert_eq!(parse_calendar_date(&d.to_string()), Ok(d));
        }

        #[test]
        fn consecutive_days_are_consecutive_in_jalali(d in date_1900_to_2100()) {
            let (a, b) = (to_jalali(d), to_jalali(d.tomorrow().unwrap()));
            prop_assert!(a < b);
            let next_day = b.year == a.year && b.month == a.month && b.day == a.day + 1;
            let next_month = b.year == a.year && b.month == a.month + 1 && b.day == 1;
            let next_year = b.year == a.year + 1 && (b.month, b.day) == (1, 1) && a.month == 12;
            prop_assert!(next_day || next_month || next_year, "{} -> {}", a, b);
        }

        #[test]
        fn parse_never_panics(s in "[0-9۰-۹/ -]{0,14}") {
            let _ = parse_calendar_date(&s);
        }
    }
}
