#![allow(clippy::unwrap_used)]

use super::*;
use jiff::civil::date;
use proptest::prelude::*;

fn tehran() -> TimeZone {
    TimeZone::get("Asia/Tehran").unwrap()
}

/// A Tehran wall-clock time as an instant.
fn at(y: i16, m: i8, d: i8, h: i8, mi: i8) -> Timestamp {
    date(y, m, d)
        .at(h, mi, 0, 0)
        .to_zoned(tehran())
        .unwrap()
        .timestamp()
}

fn calendar(holidays: &[Date]) -> BusinessCalendar {
    BusinessCalendar::new(BusinessWeek::default(), holidays.iter().copied(), tehran())
}

// 2025-01-02 is a Thursday, 2025-01-03 a Friday, 2025-01-04 a Saturday.
#[test]
fn the_test_dates_are_the_right_weekdays() {
    assert_eq!(date(2025, 1, 2).weekday(), Weekday::Thursday);
    assert_eq!(date(2025, 1, 3).weekday(), Weekday::Friday);
    assert_eq!(date(2025, 1, 4).weekday(), Weekday::Saturday);
}

#[test]
fn deadline_skips_friday() {
    let cal = calendar(&[]);
    // Thursday closes at 13:00 (60 minutes), Friday is closed, Saturday 09:00 + 180.
    let start = at(2025, 1, 2, 12, 0);
    assert_eq!(cal.add_minutes(start, 240), at(2025, 1, 4, 12, 0));
    assert_eq!(cal.business_seconds(start, at(2025, 1, 4, 12, 0)), 240 * 60);
}

#[test]
fn deadline_skips_a_holiday() {
    let cal = calendar(&[date(2025, 1, 4)]);
    let start = at(2025, 1, 2, 12, 0);
    assert_eq!(cal.add_minutes(start, 240), at(2025, 1, 5, 12, 0));
    assert!(cal.is_holiday(date(2025, 1, 4)));
    assert!(!cal.is_open(at(2025, 1, 4, 10, 0)));
}

#[test]
fn start_outside_hours_waits_for_the_next_opening() {
    let cal = calendar(&[]);
    // Wednesday evening → Thursday 09:00 + 60.
    assert_eq!(
        cal.add_minutes(at(2025, 1, 1, 20, 0), 60),
        at(2025, 1, 2, 10, 0)
    );
    // Early morning the same day.
    assert_eq!(
        cal.add_minutes(at(2025, 1, 1, 7, 30), 30),
        at(2025, 1, 1, 9, 30)
    );
    // Friday → Saturday; zero minutes is the next opening.
    assert_eq!(
        cal.add_minutes(at(2025, 1, 3, 10, 0), 0),
        at(2025, 1, 4, 9, 0)
    );
    // Zero minutes while open is the start itself.
    assert_eq!(
        cal.add_minutes(at(2025, 1, 1, 10, 17), 0),
        at(2025, 1, 1, 10, 17)
    );
    // Exactly at closing time counts as closed; a deadline may end at closing time.
    assert_eq!(
        cal.add_minutes(at(2025, 1, 2, 13, 0), 0),
        at(2025, 1, 4, 9, 0)
    );
    assert_eq!(
        cal.add_minutes(at(2025, 1, 2, 12, 0), 60),
        at(2025, 1, 2, 13, 0)
    );
    // Negative minutes count as zero.
    assert_eq!(
        cal.add_minutes(at(2025, 1, 3, 10, 0), -5),
        at(2025, 1, 4, 9, 0)
    );
}

#[test]
fn start_on_a_holiday() {
    let cal = calendar(&[date(2025, 1, 4)]);
    assert_eq!(
        cal.add_minutes(at(2025, 1, 4, 10, 0), 30),
        at(2025, 1, 5, 9, 30)
    );
    // A run of holidays after a Friday.
    let cal = calendar(&[date(2025, 1, 4), date(2025, 1, 5), date(2025, 1, 6)]);
    assert_eq!(
        cal.add_minutes(at(2025, 1, 3, 10, 0), 480),
        at(2025, 1, 7, 17, 0)
    );
}

#[test]
fn is_open() {
    let cal = calendar(&[]);
    assert!(cal.is_open(at(2025, 1, 1, 9, 0)));
    assert!(cal.is_open(at(2025, 1, 1, 16, 59)));
    assert!(!cal.is_open(at(2025, 1, 1, 17, 0)));
    assert!(!cal.is_open(at(2025, 1, 1, 8, 59)));
    assert!(cal.is_open(at(2025, 1, 2, 12, 59)));
    assert!(!cal.is_open(at(2025, 1, 2, 13, 0)));
    assert!(!cal.is_open(at(2025, 1, 3, 12, 0)));
}

#[test]
fn business_seconds_basics() {
    let cal = calendar(&[]);
    let a = at(2025, 1, 1, 10, 0);
    assert_eq!(cal.business_seconds(a, a), 0);
    assert_eq!(cal.business_seconds(at(2025, 1, 2, 0, 0), a), 0);
    // A whole week: five 8-hour days and a 4-hour Thursday.
    let week = cal.business_seconds(at(2025, 1, 4, 0, 0), at(2025, 1, 11, 0, 0));
    assert_eq!(week, (5 * 8 + 4) * 3600);
    // Closed time only.
    assert_eq!(
        cal.business_seconds(at(2025, 1, 2, 13, 0), at(2025, 1, 4, 9, 0)),
        0
    );
}

#[test]
fn without_open_days_it_falls_back_to_wall_clock() {
    let closed = BusinessWeek {
        saturday: None,
        sunday: None,
        monday: None,
        tuesday: None,
        wednesday: None,
        thursday: None,
        friday: None,
    };
    let cal = BusinessCalendar::new(closed, [], tehran());
    let start = at(2025, 1, 1, 10, 0);
    assert_eq!(cal.add_minutes(start, 90), at(2025, 1, 1, 11, 30));
    assert_eq!(cal.business_seconds(start, at(2025, 2, 1, 0, 0)), 0);

    // Eleven years of holidays: the search gives up after about ten.
    let first = date(2025, 1, 1);
    let holidays = std::iter::successors(Some(first), |d| d.tomorrow().ok()).take(11 * 366);
    let cal = BusinessCalendar::new(BusinessWeek::default(), holidays, tehran());
    assert_eq!(cal.add_minutes(start, 90), at(2025, 1, 1, 11, 30));
    assert_eq!(cal.add_minutes(start, i64::MAX), Timestamp::MAX);
}

#[test]
fn a_year_of_business_minutes_is_cheap_and_exact() {
    let cal = calendar(&[date(2025, 3, 21), date(2025, 3, 22)]);
    let start = at(2025, 1, 1, 10, 0);
    let end = cal.add_minutes(start, i64::from(MAX_SLA_MINUTES));
    assert!(end > at(2028, 1, 1, 0, 0), "{end}");
    assert_eq!(
        cal.business_seconds(start, end),
        i64::from(MAX_SLA_MINUTES) * 60
    );
}

#[test]
fn dst_days_count_the_hours_the_clock_really_ran() {
    let ny = TimeZone::get("America/New_York").unwrap();
    let h = Some(OpenHours::hm((1, 0), (4, 0)));
    let week = BusinessWeek {
        saturday: h,
        sunday: h,
        monday: h,
        tuesday: h,
        wednesday: h,
        thursday: h,
        friday: h,
    };
    let cal = BusinessCalendar::new(week, [], ny.clone());
    let ts = |d: Date, h: i8, m: i8| d.at(h, m, 0, 0).to_zoned(ny.clone()).unwrap().timestamp();
    // 2025-03-09: 02:00 → 03:00, so 01:00–04:00 is two hours.
    let spring = date(2025, 3, 9);
    let day_secs = |d: Date| cal.business_seconds(ts(d, 0, 0), ts(d.tomorrow().unwrap(), 0, 0));
    assert_eq!(day_secs(spring), 2 * 3600);
    assert_eq!(cal.add_minutes(ts(spring, 1, 30), 60), ts(spring, 3, 30));
    // 2025-11-02: 02:00 → 01:00, so 01:00–04:00 is four hours.
    assert_eq!(day_secs(date(2025, 11, 2)), 4 * 3600);
    assert_eq!(day_secs(date(2025, 11, 3)), 3 * 3600);
}

#[test]
fn week_serde_and_validation() {
    let week = BusinessWeek::default();
    let json = serde_json::to_value(&week).unwrap();
    assert_eq!(json["thursday"]["close"], "13:00");
    assert_eq!(json["friday"], serde_json::Value::Null);
    let back: BusinessWeek = serde_json::from_value(json).unwrap();
    assert_eq!(back, week);
    assert!(week.validate().is_ok());

    let parsed: OpenHours =
        serde_json::from_str(r#"{"open": "09:00:00", "close": "۱۷:۳۰"}"#).unwrap();
    assert_eq!(parsed, OpenHours::hm((9, 0), (17, 30)));
    assert!(serde_json::from_str::<OpenHours>(r#"{"open": "9am", "close": "17:00"}"#).is_err());
    assert!(serde_json::from_str::<BusinessWeek>(r#"{"caturday": null}"#).is_err());
    // Missing days are closed.
    let sparse: BusinessWeek =
        serde_json::from_str(r#"{"monday": {"open": "10:00", "close": "12:00"}}"#).unwrap();
    assert_eq!(
        sparse.hours(Weekday::Monday),
        Some(OpenHours::hm((10, 0), (12, 0)))
    );
    assert_eq!(sparse.hours(Weekday::Saturday), None);

    let bad = BusinessWeek {
        monday: Some(OpenHours::hm((17, 0), (9, 0))),
        ..BusinessWeek::default()
    };
    let e = bad.validate().unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].field, "week.monday.close");

    let closed = BusinessWeek {
        saturday: None,
        sunday: None,
        monday: None,
        tuesday: None,
        wednesday: None,
        thursday: None,
        friday: None,
    };
    assert_eq!(closed.validate().unwrap_err().0[0].field, "week");
}

#[test]
fn sla_policy() {
    let sla = SlaPolicy::default();
    assert!(sla.validate().is_ok());
    assert_eq!(
        sla.targets(TicketPriority::Urgent),
        SlaTargets {
            first_response_minutes: 30,
            resolution_minutes: 240
        }
    );
    assert_eq!(sla.targets(TicketPriority::Low).resolution_minutes, 2400);

    let bad = SlaPolicy {
        high: SlaTargets {
            first_response_minutes: 0,
            resolution_minutes: 480,
        },
        low: SlaTargets {
            first_response_minutes: 600,
            resolution_minutes: 500,
        },
        urgent: SlaTargets {
            first_response_minutes: 30,
            resolution_minutes: MAX_SLA_MINUTES + 1,
        },
        ..SlaPolicy::default()
    };
    let fields: Vec<String> = bad
        .validate()
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "sla.low.first_response_minutes",
            "sla.high.first_response_minutes",
            "sla.urgent.resolution_minutes",
        ]
    );
    let json = serde_json::to_string(&sla).unwrap();
    assert_eq!(serde_json::from_str::<SlaPolicy>(&json).unwrap(), sla);
}

proptest! {
    #[test]
    fn business_seconds_inverts_add_minutes(
        start_s in 1_704_067_200i64..1_830_297_600, // 2024-01-01 .. 2028-01-01 UTC
        nanos in 0i32..1_000_000_000,
        minutes in 0i64..40_000,
        holiday_offsets in proptest::collection::vec(0i32..1500, 0..20),
    ) {
        let start = Timestamp::new(start_s, nanos).unwrap();
        let base = date(2024, 1, 1);
        let holidays: Vec<Date> = holiday_offsets
            .iter()
            .map(|&d| base.checked_add(jiff::Span::new().days(d)).unwrap())
            .collect();
        let cal = calendar(&holidays);
        let end = cal.add_minutes(start, minutes);
        prop_assert!(end >= start);
        prop_assert_eq!(cal.business_seconds(start, end), minutes * 60);
        if minutes > 0 {
            prop_assert!(cal.is_open(end - SignedDuration::from_nanos(1)));
        } else {
            prop_assert!(cal.is_open(end));
        }
    }
}
