//! Weeks that start on Saturday, and the calendar periods caps count in.

use crate::date::to_jalali;
use crate::ledger::CalendarKind;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Days of the week in Iranian order: the week starts on Saturday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Saturday,
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Saturday,
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];

    pub fn of(date: Date) -> Weekday {
        // Monday is 1 in jiff; Saturday (6) becomes index 0.
        let monday_one = date.weekday().to_monday_one_offset();
        Weekday::ALL[usize::try_from((monday_one + 1) % 7).unwrap_or(0)]
    }

    /// 1 for Saturday … 7 for Friday.
    pub fn number(self) -> i64 {
        Weekday::ALL.iter().position(|d| *d == self).unwrap_or(0) as i64 + 1
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Saturday => "saturday",
            Weekday::Sunday => "sunday",
            Weekday::Monday => "monday",
            Weekday::Tuesday => "tuesday",
            Weekday::Wednesday => "wednesday",
            Weekday::Thursday => "thursday",
            Weekday::Friday => "friday",
        }
    }
}

/// The period a cap counts in, in the program's timezone and calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapPeriod {
    Day,
    /// Saturday to Friday.
    Week,
    /// A Jalali or Gregorian month, as the program's calendar says.
    Month,
    /// A Jalali or Gregorian year: "once a year" on a birthday.
    Year,
    Lifetime,
}

impl CapPeriod {
    /// A key naming the period that holds `date`, stable across processes: usage rows
    /// are keyed by it.
    pub fn key(self, date: Date, calendar: CalendarKind) -> String {
        match self {
            CapPeriod::Day => format!("d{date}"),
            CapPeriod::Week => {
                let back = Weekday::of(date).number() - 1;
                let start = date
                    .checked_sub(jiff::Span::new().days(back))
                    .unwrap_or(date);
                format!("w{start}")
            }
            CapPeriod::Month => match calendar {
                CalendarKind::Jalali => {
                    let j = to_jalali(date);
                    format!("jm{:04}-{:02}", j.year, j.month)
                }
                CalendarKind::Gregorian => format!("m{:04}-{:02}", date.year(), date.month()),
            },
            CapPeriod::Year => match calendar {
                CalendarKind::Jalali => format!("jy{:04}", to_jalali(date).year),
                CalendarKind::Gregorian => format!("y{:04}", date.year()),
            },
            CapPeriod::Lifetime => "life".to_owned(),
        }
    }
}
