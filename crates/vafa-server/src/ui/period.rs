//! A report's period: the from/to form every report page carries (a GET form, so the
//! address with `?from=…&to=…` can be shared), its quick choices, and how the chosen
//! range reads. Dates are typed Jalali (`۱۴۰۵/۰۹/۰۱`) or Gregorian (`2026-11-22`) on
//! either page, in any digits; the fields show Jalali on a Persian page of a Jalali
//! program and ISO on an English page. A date that is not one, or a start after the
//! end, draws the page again with what was typed and why beside the field (422); the
//! figures then stay on the page's default period.

use super::{Lang, View};
use jiff::civil::Date;
use vafa_core::date::{parse_calendar_date, to_jalali, DateError};
use vafa_core::ledger::CalendarKind;

/// The chosen period, inclusive local dates, and its form as drawn.
pub struct Period {
    pub from: Date,
    pub to: Date,
    /// The fields' values: what was typed when refused, else the period in the page's form.
    pub from_field: String,
    pub to_field: String,
    /// Why a field was refused, in the reader's words; empty when it was not.
    pub from_problem: String,
    pub to_problem: String,
    /// `۲۴ آبان ۱۴۰۵ تا ۲ آذر ۱۴۰۵`: the period in the page's calendar and digits.
    pub label: String,
    /// An example of a date as the fields take it (today), for the placeholder.
    pub example: String,
    /// Quick choices: (address, label, is the period shown).
    pub quick: Vec<(String, String, bool)>,
}

/// Gregorian years a period may fall in (the reports cannot go outside them).
const YEARS: std::ops::RangeInclusive<i16> = 1900..=2200;
/// The longest period, in days (the longest RFM window the API takes).
pub const MAX_DAYS: i64 = 3650;

impl Period {
    /// The period `raw` (the page's query string) asks for on page `path`, or the last
    /// `default_days` days through `today`.
    pub fn read(v: &View, path: &str, raw: Option<&str>, today: Date, default_days: i16) -> Period {
        let mut from_typed = String::new();
        let mut to_typed = String::new();
        for (k, val) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "from" => from_typed = val.trim().to_owned(),
                "to" => to_typed = val.trim().to_owned(),
                _ => {}
            }
        }
        let example = field_form(v, today);
        let (from, from_problem) = parse(v, "period_from", &from_typed, &example);
        let (to, to_problem) = parse(v, "period_to", &to_typed, &example);
        let last_days = |n: i16, end: Date| end.saturating_sub(jiff::Span::new().days(n - 1));
        let default = (last_days(default_days, today), today);
        let mut p = Period {
            from: default.0,
            to: default.1,
            from_field: from_typed.clone(),
            to_field: to_typed.clone(),
            from_problem,
            to_problem,
            label: String::new(),
            example: example.clone(),
            quick: Vec::new(),
        };
        if !p.refused() {
            let to = to.unwrap_or(today);
            let from = from.unwrap_or_else(|| last_days(default_days, to));
            let days = from.until(to).map_or(0, |s| i64::from(s.get_days())) + 1;
            if from > to {
                p.from_problem = problem(v, "period_from", v.t("period_after_to"));
            } else if days > MAX_DAYS {
                p.from_problem = problem(v, "period_from", v.t("period_too_long"));
            } else {
                p.from = from;
                p.to = to;
                p.from_field = field_form(v, from);
                p.to_field = field_form(v, to);
            }
        }
        p.label = v.tf(
            "period_range",
            &[("from", v.day(&p.from)), ("to", v.day(&p.to))],
        );
        let refused = p.refused();
        let mut choice = |label: String, from: Date| {
            let on = !refused && p.from == from && p.to == today;
            p.quick
                .push((format!("{path}?from={from}&to={today}"), label, on));
        };
        for n in [7, 30, 90] {
            choice(
                v.tf("period_last_days", &[("n", v.n(&i64::from(n)))]),
                last_days(n, today),
            );
        }
        let (month_first, year_first, month, year) = starts(v, today);
        choice(v.tf("period_this_month", &[("month", month)]), month_first);
        choice(v.tf("period_this_year", &[("year", year)]), year_first);
        p
    }

    /// A field was refused: the page is drawn with 422 and the default period.
    pub fn refused(&self) -> bool {
        !self.from_problem.is_empty() || !self.to_problem.is_empty()
    }

    /// The first and last day as ISO dates (what the API's `from`/`to` take).
    pub fn iso(&self) -> (String, String) {
        (self.from.to_string(), self.to.to_string())
    }

    /// The day after the last, as an ISO date: an exclusive end for the APIs that take one.
    pub fn end_exclusive(&self) -> String {
        self.to.tomorrow().unwrap_or(self.to).to_string()
    }

    /// How many days the period holds (at most [`MAX_DAYS`]).
    pub fn days(&self) -> u32 {
        self.from
            .until(self.to)
            .map(|s| u32::try_from(s.get_days()).unwrap_or(0) + 1)
            .unwrap_or(1)
    }
}

/// A date as the fields show it: Jalali in Persian digits on a Persian page of a Jalali
/// program, otherwise ISO (Persian digits on a Persian page).
fn field_form(v: &View, d: Date) -> String {
    match (v.lang, v.calendar) {
        (Lang::Fa, CalendarKind::Jalali) => v.digits(&to_jalali(d).to_string()),
        _ => v.digits(&d.to_string()),
    }
}

/// A typed date: none when blank, else the day or why it is refused.
fn parse(v: &View, label_key: &str, typed: &str, example: &str) -> (Option<Date>, String) {
    if typed.is_empty() {
        return (None, String::new());
    }
    let why = match parse_calendar_date(typed) {
        Ok(d) if YEARS.contains(&d.year()) => return (Some(d), String::new()),
        Ok(_) => v.t("period_years"),
        Err(DateError::NoSuchDay) => v.t("period_no_such_day"),
        Err(DateError::Format) => v.tf("period_not_a_date", &[("example", example.to_owned())]),
    };
    (None, problem(v, label_key, why))
}

fn problem(v: &View, label_key: &str, why: String) -> String {
    format!("{}: {why}", v.t(label_key))
}

/// The first day of this month and of this year in the program's calendar, and their names.
fn starts(v: &View, today: Date) -> (Date, Date, String, String) {
    match v.calendar {
        CalendarKind::Jalali => {
            let j = to_jalali(today);
            let first =
                |m: u8| parse_calendar_date(&format!("{:04}/{m:02}/01", j.year)).unwrap_or(today);
            (
                first(j.month),
                first(1),
                v.t(&format!("month_jalali_{}", j.month)),
                v.digits(&j.year.to_string()),
            )
        }
        CalendarKind::Gregorian => (
            today.first_of_month(),
            today.first_of_year(),
            v.t(&format!("month_gregorian_{}", today.month())),
            v.digits(&today.year().to_string()),
        ),
    }
}
