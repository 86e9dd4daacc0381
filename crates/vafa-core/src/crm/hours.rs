//! Business hours, holidays and SLA deadlines counted in business minutes.
//!
//! An SLA of "4 hours" means four hours the team is at work: a complaint that arrives
//! on Thursday afternoon in Tehran is not late on Friday. So deadlines are computed on
//! the program's own calendar — its week, its holidays, its time zone — one day at a
//! time, converting each day's opening and closing wall-clock times to instants so that
//! a day shortened or lengthened by a DST change counts what the clock really ran.

use super::TicketPriority;
use crate::FieldErrors;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The opening hours of one day, in local wall-clock time; `open` must be before `close`.
/// Written as `"09:00"` in JSON (`"09:00:00"` and Persian digits are accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenHours {
    #[serde(with = "hh_mm")]
    pub open: Time,
    #[serde(with = "hh_mm")]
    pub close: Time,
}

impl OpenHours {
    /// Whole-hour-and-minute opening hours, e.g. `OpenHours::hm((9, 0), (17, 0))`.
    /// Out-of-range parts are clamped into a valid time, never a panic.
    pub const fn hm(open: (i8, i8), close: (i8, i8)) -> OpenHours {
        OpenHours {
            open: time_hm(open.0, open.1),
            close: time_hm(close.0, close.1),
        }
    }

    fn is_valid(self) -> bool {
        self.open < self.close
    }
}

const fn time_hm(hour: i8, minute: i8) -> Time {
    let hour = if hour < 0 {
        0
    } else if hour > 23 {
        23
    } else {
        hour
    };
    let minute = if minute < 0 {
        0
    } else if minute > 59 {
        59
    } else {
        minute
    };
    Time::constant(hour, minute, 0, 0)
}

/// Times of day as `"HH:MM"` (seconds shown only when not zero).
mod hh_mm {
    use jiff::civil::Time;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        if t.second() == 0 && t.subsec_nanosecond() == 0 {
            s.serialize_str(&format!("{:02}:{:02}", t.hour(), t.minute()))
        } else {
            s.serialize_str(&t.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let text = String::deserialize(d)?;
        crate::digits::normalize_digits(text.trim())
            .parse::<Time>()
            .map_err(|_| D::Error::custom(format!("{text:?} is not a time of day like \"09:00\"")))
    }
}

/// Opening hours for each day of the week; `None` is closed all day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessWeek {
    pub saturday: Option<OpenHours>,
    pub sunday: Option<OpenHours>,
    pub monday: Option<OpenHours>,
    pub tuesday: Option<OpenHours>,
    pub wednesday: Option<OpenHours>,
    pub thursday: Option<OpenHours>,
    pub friday: Option<OpenHours>,
}

impl Default for BusinessWeek {
    /// The usual Iranian office week: Saturday to Wednesday 09:00–17:00, Thursday
    /// 09:00–13:00, Friday closed.
    fn default() -> Self {
        let full = Some(OpenHours::hm((9, 0), (17, 0)));
        BusinessWeek {
            saturday: full,
            sunday: full,
            monday: full,
            tuesday: full,
            wednesday: full,
            thursday: Some(OpenHours::hm((9, 0), (13, 0))),
            friday: None,
        }
    }
}

impl BusinessWeek {
    /// The days in field order (the Iranian week starts on Saturday), with their names.
    fn days(&self) -> [(&'static str, Option<OpenHours>); 7] {
        [
            ("saturday", self.saturday),
            ("sunday", self.sunday),
            ("monday", self.monday),
            ("tuesday", self.tuesday),
            ("wednesday", self.wednesday),
            ("thursday", self.thursday),
            ("friday", self.friday),
        ]
    }

    pub fn hours(&self, day: Weekday) -> Option<OpenHours> {
        match day {
            Weekday::Saturday => self.saturday,
            Weekday::Sunday => self.sunday,
            Weekday::Monday => self.monday,
            Weekday::Tuesday => self.tuesday,
            Weekday::Wednesday => self.wednesday,
            Weekday::Thursday => self.thursday,
            Weekday::Friday => self.friday,
        }
    }

    /// Is any day open (with valid hours)? Without one, no deadline can be counted.
    pub fn has_open_day(&self) -> bool {
        self.days()
            .iter()
            .any(|(_, h)| h.is_some_and(OpenHours::is_valid))
    }

    /// Each open day closes after it opens, and at least one day is open. Field names
    /// are `week.<day>.close` and `week`.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        for (name, hours) in self.days() {
            if hours.is_some_and(|h| !h.is_valid()) {
                e.push(
                    format!("week.{name}.close"),
                    "must be later than the opening time",
                );
            }
        }
        if !self.days().iter().any(|(_, h)| h.is_some()) {
            e.push("week", "at least one day must be open");
        }
        e.finish(|| ())
    }
}

/// Response and resolution targets for one priority, in business minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}

/// SLA targets for each ticket priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub low: SlaTargets,
    pub normal: SlaTargets,
    pub high: SlaTargets,
    pub urgent: SlaTargets,
}

/// The longest target accepted: a year of minutes.
pub const MAX_SLA_MINUTES: u32 = 525_600;

const fn targets(first_response_minutes: u32, resolution_minutes: u32) -> SlaTargets {
    SlaTargets {
        first_response_minutes,
        resolution_minutes,
    }
}

impl Default for SlaPolicy {
    /// Urgent: answer in 30 minutes, resolve in 4 hours; high: 1 h / 8 h (a full working
    /// day); normal: 4 h / 3 days; low: 1 day / 5 days — all in business time.
    fn default() -> Self {
        SlaPolicy {
            low: targets(480, 2400),
            normal: targets(240, 1440),
            high: targets(60, 480),
            urgent: targets(30, 240),
        }
    }
}

impl SlaPolicy {
    pub fn targets(&self, p: TicketPriority) -> SlaTargets {
        match p {
            TicketPriority::Low => self.low,
            TicketPriority::Normal => self.normal,
            TicketPriority::High => self.high,
            TicketPriority::Urgent => self.urgent,
        }
    }

    /// Every target positive and at most [`MAX_SLA_MINUTES`], and the first response due
    /// no later than the resolution. Field names are `sla.<priority>.<field>`.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        for &p in TicketPriority::ALL {
            let t = self.targets(p);
            let prefix = format!("sla.{}", p.as_str());
            for (field, minutes) in [
                ("first_response_minutes", t.first_response_minutes),
                ("resolution_minutes", t.resolution_minutes),
            ] {
                if !(1..=MAX_SLA_MINUTES).contains(&minutes) {
                    e.push(
                        format!("{prefix}.{field}"),
                        format!("must be between 1 and {MAX_SLA_MINUTES} minutes"),
                    );
                }
            }
            if t.first_response_minutes > t.resolution_minutes {
                e.push(
                    format!("{prefix}.first_response_minutes"),
                    "must not be longer than the resolution time",
                );
            }
        }
        e.finish(|| ())
    }
}

/// How far ahead [`BusinessCalendar::add_minutes`] looks for enough open time: about ten
/// years of days. Beyond it the calendar gives up and counts wall-clock time instead.
const SEARCH_DAYS: usize = 3_660;

/// The program's working calendar in its own time zone: its week and its holidays
/// (closed all day).
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    week: BusinessWeek,
    holidays: BTreeSet<Date>,
    tz: TimeZone,
}

impl BusinessCalendar {
    pub fn new(week: BusinessWeek, holidays: impl IntoIterator<Item = Date>, tz: TimeZone) -> Self {
        BusinessCalendar {
            week,
            holidays: holidays.into_iter().collect(),
            tz,
        }
    }

    pub fn week(&self) -> &BusinessWeek {
        &self.week
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    pub fn is_holiday(&self, day: Date) -> bool {
        self.holidays.contains(&day)
    }

    /// The instant at which `minutes` business minutes have passed since `start`.
    ///
    /// The clock starts at the next opening when `start` is outside hours, so 0 minutes
    /// gives `start` itself when open and the next opening otherwise. A deadline that
    /// ends exactly at closing time is that closing instant. Negative minutes count as 0.
    ///
    /// Fallback: when no day of the week is open, or the minutes do not fit in about ten
    /// years of business days (say, all of them holidays), there is no meaningful
    /// business deadline and this returns `start + minutes` of wall-clock time instead
    /// (saturating at [`Timestamp::MAX`]) rather than searching forever.
    pub fn add_minutes(&self, start: Timestamp, minutes: i64) -> Timestamp {
        let seconds = minutes.max(0).saturating_mul(60);
        let fallback = start
            .checked_add(SignedDuration::from_secs(seconds))
            .unwrap_or(Timestamp::MAX);
        if !self.week.has_open_day() {
            return fallback;
        }
        let mut left = SignedDuration::from_secs(seconds);
        for day in self.days_from(start).take(SEARCH_DAYS) {
            let Some((open, close)) = self.open_span(day) else {
                continue;
            };
            let from = open.max(start);
            if close <= from {
                continue;
            }
            let available = close.duration_since(from);
            if left <= available {
                return from.checked_add(left).unwrap_or(close);
            }
            left = left.saturating_sub(available);
        }
        fallback
    }

    /// Business time between two instants, in whole seconds (0 if `b <= a`). The cost is
    /// one step per calendar day between them.
    pub fn business_seconds(&self, a: Timestamp, b: Timestamp) -> i64 {
        if b <= a {
            return 0;
        }
        let last = self.local_date(b);
        let last = last.tomorrow().unwrap_or(last);
        let mut total = SignedDuration::ZERO;
        for day in self.days_from(a).take_while(|d| *d <= last) {
            if let Some((open, close)) = self.open_span(day) {
                let (from, to) = (open.max(a), close.min(b));
                if from < to {
                    total = total.saturating_add(to.duration_since(from));
                }
            }
        }
        total.as_secs()
    }

    /// Is the business open at this instant?
    pub fn is_open(&self, at: Timestamp) -> bool {
        self.days_from(at)
            .take(3)
            .any(|d| self.open_span(d).is_some_and(|(o, c)| o <= at && at < c))
    }

    /// The open interval of one local day as instants, `None` when closed. Opening or
    /// closing inside a DST gap moves it later, as the clocks do.
    fn open_span(&self, day: Date) -> Option<(Timestamp, Timestamp)> {
        if self.holidays.contains(&day) {
            return None;
        }
        let hours = self.week.hours(day.weekday())?;
        let open = self.tz.to_timestamp(day.to_datetime(hours.open)).ok()?;
        let close = self.tz.to_timestamp(day.to_datetime(hours.close)).ok()?;
        (open < close).then_some((open, close))
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.tz.to_datetime(at).date()
    }

    /// Local days in order, from the day before `at`'s (in case clocks went back across
    /// midnight, so yesterday's hours end after `at`'s local midnight).
    fn days_from(&self, at: Timestamp) -> impl Iterator<Item = Date> {
        let today = self.local_date(at);
        let first = today.yesterday().unwrap_or(today);
        std::iter::successors(Some(first), |d| d.tomorrow().ok())
    }
}

#[cfg(test)]
mod tests;
