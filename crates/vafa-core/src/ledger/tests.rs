use super::*;
use proptest::prelude::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn tehran() -> TimeZone {
    TimeZone::get("Asia/Tehran").unwrap()
}

fn lot(id: &str, remaining: i64, available: &str, expires: Option<&str>) -> Lot {
    Lot {
        id: id.into(),
        remaining,
        available_at: ts(available),
        expires_at: expires.map(ts),
    }
}

#[test]
fn earning_rounds_down() {
    let s = LedgerSettings {
        cashback_percent: "2.5".parse().unwrap(),
        ..Default::default()
    };
    assert_eq!(s.points_for(125_000), 12);
    assert_eq!(s.points_for(9_999), 0);
    assert_eq!(s.cashback_for(125_000), 3125);
    assert_eq!(s.cashback_for(39), 0);
    assert_eq!(s.points_value_minor(7), 700);
    // Past what money can hold: held at the largest amount, never a panic or a wrap.
    let dear = LedgerSettings {
        point_value_minor: Decimal::from(crate::money::MAX_AMOUNT_MINOR),
        ..s.clone()
    };
    assert!(dear.validate().is_ok());
    assert_eq!(
        dear.points_value_minor(i64::MAX),
        crate::money::MAX_AMOUNT_MINOR
    );
    assert_eq!(dear.points_value_minor(-3), -crate::money::MAX_AMOUNT_MINOR);
    let too_dear = LedgerSettings {
        point_value_minor: Decimal::from(crate::money::MAX_AMOUNT_MINOR) + Decimal::ONE,
        ..s.clone()
    };
    assert!(too_dear.validate().is_err());
}

#[test]
fn allocation_is_exact_and_proportional() {
    assert_eq!(allocate(10, &[1, 1, 1]), [4, 3, 3]);
    assert_eq!(allocate(12, &[100_000, 25_000]), [10, 2]);
    assert_eq!(allocate(5, &[0, 0]), [5, 0]);
    assert_eq!(allocate(0, &[3, 4]), [0, 0]);
}

proptest! {
    #[test]
    fn allocation_always_adds_up(total in 0i64..1_000_000, weights in proptest::collection::vec(0i64..10_000_000, 1..12)) {
        let parts = allocate(total, &weights);
        prop_assert_eq!(parts.iter().sum::<i64>(), total);
        prop_assert!(parts.iter().all(|p| *p >= 0));
    }
}

#[test]
fn expiry_policies_in_the_program_calendar() {
    let tz = tehran();
    // 2024-03-19 10:00 Tehran is 29 Esfand 1402; the Jalali year ends at 1 Farvardin 1403 00:00.
    let earned = ts("2024-03-19T06:30:00Z");
    let jalali = ExpiryPolicy::EndOfYear {
        calendar: CalendarKind::Jalali,
        years_after: 0,
    };
    assert_eq!(
        jalali.expires_at(earned, &tz),
        Some(ts("2024-03-19T20:30:00Z"))
    );
    let next = ExpiryPolicy::EndOfYear {
        calendar: CalendarKind::Jalali,
        years_after: 1,
    };
    assert_eq!(
        next.expires_at(earned, &tz),
        Some(ts("2025-03-20T20:30:00Z"))
    );
    let greg = ExpiryPolicy::EndOfYear {
        calendar: CalendarKind::Gregorian,
        years_after: 0,
    };
    assert_eq!(
        greg.expires_at(earned, &tz),
        Some(ts("2024-12-31T20:30:00Z"))
    );
    assert_eq!(
        ExpiryPolicy::EndOfMonth { calendar: None }.expires_at(earned, &tz),
        Some(ts("2024-03-31T20:30:00Z")),
        "stored without a calendar: Gregorian, as before there was a choice"
    );
    let jalali_month = ExpiryPolicy::EndOfMonth {
        calendar: Some(CalendarKind::Jalali),
    };
    // 29 Esfand 1402 (a leap year's Esfand has 30 days): the month ends at 1 Farvardin.
    assert_eq!(
        jalali_month.expires_at(earned, &tz),
        Some(ts("2024-03-19T20:30:00Z"))
    );
    // 10 Azar 1405 ends at 1 Dey 1405 (2026-12-22) in Tehran.
    assert_eq!(
        jalali_month.expires_at(ts("2026-12-01T08:00:00Z"), &tz),
        Some(ts("2026-12-21T20:30:00Z"))
    );
    assert_eq!(
        ExpiryPolicy::EndOfMonth {
            calendar: Some(CalendarKind::Gregorian)
        }
        .expires_at(ts("2026-12-01T08:00:00Z"), &tz),
        Some(ts("2026-12-31T20:30:00Z"))
    );
    assert_eq!(
        ExpiryPolicy::Days { days: 10 }.expires_at(earned, &tz),
        Some(ts("2024-03-29T06:30:00Z"))
    );
    // A month after 31 January is the end of February.
    let jan31 = ts("2025-01-31T08:00:00Z");
    assert_eq!(
        ExpiryPolicy::Months { months: 1 }.expires_at(jan31, &tz),
        Some(ts("2025-02-28T08:00:00Z"))
    );
    assert_eq!(ExpiryPolicy::Never.expires_at(earned, &tz), None);
}

#[test]
fn spending_takes_the_soonest_expiring_available_points() {
    let t = ts("2026-01-10T00:00:00Z");
    let mut lots = vec![
        lot("never", 50, "2026-01-01T00:00:00Z", None),
        lot(
            "late",
            30,
            "2026-01-01T00:00:00Z",
            Some("2026-12-01T00:00:00Z"),
        ),
        lot(
            "soon",
            20,
            "2026-01-02T00:00:00Z",
            Some("2026-02-01T00:00:00Z"),
        ),
        lot(
            "pending",
            100,
            "2026-01-20T00:00:00Z",
            Some("2026-01-25T00:00:00Z"),
        ),
        lot(
            "expired",
            40,
            "2025-01-01T00:00:00Z",
            Some("2026-01-05T00:00:00Z"),
        ),
    ];
    spend_order(&mut lots);
    let ids: Vec<_> = lots.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["expired", "pending", "soon", "late", "never"]);
    let plan = plan_spend(&lots, 0, 60, t).unwrap();
    let taken: Vec<_> = plan
        .iter()
        .map(|(i, n)| (lots[*i].id.as_str(), *n))
        .collect();
    assert_eq!(taken, [("soon", 20), ("late", 30), ("never", 10)]);
    assert_eq!(
        plan_spend(&lots, 0, 101, t),
        Err(Insufficient { available: 100 })
    );
    assert_eq!(
        plan_spend(&lots, 30, 80, t),
        Err(Insufficient { available: 70 })
    );

    let b = balance_at(&lots, 30, t, jiff::SignedDuration::from_hours(24 * 30));
    assert_eq!((b.available, b.pending, b.debt), (70, 100, 30));
    assert_eq!(b.expiring_soon, [(ts("2026-02-01T00:00:00Z"), 20)]);
    // Ten days later the pending lot is spendable; by the 25th it is gone, job or no job.
    assert_eq!(
        balance_at(&lots, 0, ts("2026-01-21T00:00:00Z"), Default::default()).available,
        200
    );
    assert_eq!(
        balance_at(&lots, 0, ts("2026-01-26T00:00:00Z"), Default::default()).available,
        100
    );
}

#[test]
fn returns_follow_the_program_policy() {
    let t = ts("2026-01-10T00:00:00Z");
    let lots = vec![
        lot("own", 10, "2026-01-01T00:00:00Z", None),
        lot("other", 25, "2026-01-01T00:00:00Z", None),
    ];
    let full = plan_reversal(&lots, Some(0), 50, ReturnPolicy::AllowNegative, 0, t);
    assert_eq!(
        (full.takes.clone(), full.new_debt, full.reversed),
        (vec![(0, 10), (1, 25)], 15, 50)
    );
    let capped = plan_reversal(&lots, Some(0), 50, ReturnPolicy::WithinBalance, 0, t);
    assert_eq!((capped.new_debt, capped.reversed), (0, 35));
    // The own lot is already available: only_pending reverses nothing.
    assert_eq!(
        plan_reversal(&lots, Some(0), 5, ReturnPolicy::OnlyPending, 0, t).reversed,
        0
    );
    let pending = vec![lot("own", 10, "2026-02-01T00:00:00Z", None)];
    assert_eq!(
        plan_reversal(&pending, Some(0), 5, ReturnPolicy::OnlyPending, 0, t).takes,
        [(0, 5)]
    );
    // A customer who owes 30 of the 35 spendable: within_balance takes only the 5 that
    // keep the balance at zero, whatever lot they sit in.
    let owing = plan_reversal(&lots, Some(0), 50, ReturnPolicy::WithinBalance, 30, t);
    assert_eq!((owing.takes, owing.reversed), (vec![(0, 5)], 5));
    // Pending own points were never in the balance: they are taken back all the same.
    let mixed = vec![
        lot("own", 10, "2026-02-01T00:00:00Z", None),
        lot("other", 25, "2026-01-01T00:00:00Z", None),
    ];
    let r = plan_reversal(&mixed, Some(0), 50, ReturnPolicy::WithinBalance, 30, t);
    assert_eq!((r.takes, r.new_debt, r.reversed), (vec![(0, 10)], 0, 10));
}

proptest! {
    /// However the lots, the debt and the amount: within_balance never leaves the
    /// spendable balance (less the debt) below zero when it was not already, and never
    /// takes more than the amount or than a lot holds.
    #[test]
    fn within_balance_never_goes_below_zero(
        remaining in proptest::collection::vec(1i64..50, 1..5),
        pending_mask in proptest::collection::vec(any::<bool>(), 5),
        own in proptest::option::of(0usize..5),
        debt in 0i64..100,
        amount in 1i64..200,
    ) {
        let t = ts("2026-01-10T00:00:00Z");
        let lots: Vec<Lot> = remaining.iter().enumerate().map(|(i, r)| {
            let at = if pending_mask[i] { "2026-02-01T00:00:00Z" } else { "2026-01-01T00:00:00Z" };
            lot(&format!("l{i}"), *r, at, None)
        }).collect();
        let own = own.filter(|i| *i < lots.len());
        let spendable = |lots: &[Lot]| lots.iter().filter(|l| l.spendable(t)).map(|l| l.remaining).sum::<i64>();
        let before = spendable(&lots) - debt;
        let r = plan_reversal(&lots, own, amount, ReturnPolicy::WithinBalance, debt, t);
        let mut after_lots = lots.clone();
        for (i, take) in &r.takes {
            prop_assert!(*take > 0 && *take <= lots[*i].remaining);
            after_lots[*i].remaining -= take;
        }
        prop_assert_eq!(r.new_debt, 0);
        prop_assert!(r.reversed <= amount);
        let after = spendable(&after_lots) - debt;
        prop_assert!(after >= 0 || after >= before, "{} -> {}", before, after);
    }
}

#[test]
fn settings_are_validated() {
    let bad = LedgerSettings {
        earn_per_minor: 0,
        expiry: ExpiryPolicy::Days { days: 0 },
        ..Default::default()
    };
    let fields: Vec<_> = bad
        .validate()
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["earn_per_minor", "expiry.days"]);
    let json = serde_json::to_value(LedgerSettings::default()).unwrap();
    assert_eq!(
        json["expiry"],
        serde_json::json!({"kind": "months", "months": 12})
    );
    assert_eq!(json["point_value_minor"], "100");

    let too_rich = LedgerSettings {
        earn_points: MAX_EARN_POINTS + 1,
        ..Default::default()
    };
    assert_eq!(too_rich.validate().unwrap_err().0[0].field, "earn_points");
}

#[test]
fn an_expiry_policy_takes_only_its_own_fields() {
    let read = |v: serde_json::Value| serde_json::from_value::<ExpiryPolicy>(v);
    assert_eq!(
        read(serde_json::json!({"kind": "never"})).unwrap(),
        ExpiryPolicy::Never
    );
    assert_eq!(
        read(serde_json::json!({"kind": "end_of_month"})).unwrap(),
        ExpiryPolicy::EndOfMonth { calendar: None }
    );
    assert_eq!(
        read(serde_json::json!({"kind": "end_of_month", "calendar": "jalali"})).unwrap(),
        ExpiryPolicy::EndOfMonth {
            calendar: Some(CalendarKind::Jalali)
        }
    );
    assert_eq!(
        read(serde_json::json!({"kind": "days", "days": 3})).unwrap(),
        ExpiryPolicy::Days { days: 3 }
    );
    for wrong in [
        serde_json::json!({"kind": "never", "days": 3}),
        serde_json::json!({"kind": "end_of_month", "months": 1}),
        serde_json::json!({"kind": "days", "days": 3, "months": 1}),
        serde_json::json!({"kind": "weeks", "weeks": 1}),
    ] {
        assert!(read(wrong.clone()).is_err(), "{wrong}");
    }
    // What is written reads back the same.
    for p in [
        ExpiryPolicy::Never,
        ExpiryPolicy::EndOfMonth { calendar: None },
        ExpiryPolicy::EndOfMonth {
            calendar: Some(CalendarKind::Jalali),
        },
        ExpiryPolicy::Months { months: 6 },
        ExpiryPolicy::EndOfYear {
            calendar: CalendarKind::Jalali,
            years_after: 1,
        },
    ] {
        assert_eq!(read(serde_json::to_value(p).unwrap()).unwrap(), p);
    }
}

#[test]
fn a_return_takes_its_gift_after_its_points() {
    let t = ts("2026-01-10T00:00:00Z");
    // The purchase's lot and its gift's, both still pending, and 25 spendable points.
    let lots = vec![
        lot("other", 25, "2026-01-01T00:00:00Z", None),
        lot("own", 10, "2026-02-01T00:00:00Z", None),
        lot("gift", 40, "2026-02-01T00:00:00Z", None),
    ];
    let r = plan_return(
        &lots,
        Some(1),
        10,
        &[(Some(2), 40)],
        ReturnPolicy::OnlyPending,
        0,
        t,
    );
    assert_eq!(
        (r.takes, r.new_debt, r.reversed, r.gifts_reversed),
        (vec![(1, 10), (2, 40)], 0, 10, vec![40])
    );
    // The gift spent already (its lot gone): within_balance takes what the balance
    // holds, allow_negative the rest as a debt, only_pending nothing.
    let spent = vec![lots[0].clone(), lots[1].clone()];
    let under = |policy| {
        let r = plan_return(&spent, Some(1), 10, &[(None, 40)], policy, 0, t);
        let gift = r.gift_reversed();
        (r.takes, r.new_debt, gift)
    };
    assert_eq!(
        under(ReturnPolicy::WithinBalance),
        (vec![(1, 10), (0, 25)], 0, 25)
    );
    assert_eq!(
        under(ReturnPolicy::AllowNegative),
        (vec![(1, 10), (0, 25)], 15, 40)
    );
    assert_eq!(under(ReturnPolicy::OnlyPending), (vec![(1, 10)], 0, 0));
}

proptest! {
    /// With no gift a return is the purchase's reversal alone; with one, no lot gives
    /// more than it holds, each take appears once, and what was taken and owed is what
    /// was reversed.
    #[test]
    fn a_return_with_its_gift_adds_up(
        remaining in proptest::collection::vec(1i64..50, 1..6),
        pending_mask in proptest::collection::vec(any::<bool>(), 6),
        own in proptest::option::of(0usize..6),
        gift_lot in proptest::option::of(0usize..6),
        debt in 0i64..100,
        points in 0i64..200,
        gift in 0i64..200,
        policy in prop_oneof![Just(ReturnPolicy::OnlyPending), Just(ReturnPolicy::WithinBalance), Just(ReturnPolicy::AllowNegative)],
    ) {
        let t = ts("2026-01-10T00:00:00Z");
        let lots: Vec<Lot> = remaining.iter().enumerate().map(|(i, r)| {
            let at = if pending_mask[i] { "2026-02-01T00:00:00Z" } else { "2026-01-01T00:00:00Z" };
            lot(&format!("l{i}"), *r, at, None)
        }).collect();
        let own = own.filter(|i| *i < lots.len());
        let gift_lot = gift_lot.filter(|i| *i < lots.len() && Some(*i) != own);
        let alone = plan_reversal(&lots, own, points, policy, debt, t);
        let none = plan_return(&lots, own, points, &[], policy, debt, t);
        prop_assert_eq!((&none.takes, none.new_debt, none.reversed), (&alone.takes, alone.new_debt, alone.reversed));
        let r = plan_return(&lots, own, points, &[(gift_lot, gift), (None, gift)], policy, debt, t);
        prop_assert_eq!(r.reversed, alone.reversed);
        prop_assert!(r.gifts_reversed.iter().all(|g| *g <= gift));
        let mut seen = std::collections::HashSet::new();
        for (i, take) in &r.takes {
            prop_assert!(seen.insert(*i));
            prop_assert!(*take > 0 && *take <= lots[*i].remaining);
        }
        let taken: i64 = r.takes.iter().map(|(_, t)| t).sum();
        prop_assert_eq!(taken + r.new_debt, r.reversed + r.gift_reversed());
    }
}

#[test]
fn a_date_no_calendar_reaches_expires_at_once_not_never() {
    let year_one = ts("0001-06-01T00:00:00Z");
    for policy in [
        ExpiryPolicy::EndOfYear {
            calendar: CalendarKind::Jalali,
            years_after: 0,
        },
        ExpiryPolicy::Days { days: 10 },
    ] {
        let at = policy.expires_at(year_one, &tehran());
        assert!(
            at.is_some_and(|a| a <= ts("0002-01-01T00:00:00Z")),
            "{policy:?}: {at:?}"
        );
    }
    assert_eq!(ExpiryPolicy::Never.expires_at(year_one, &tehran()), None);
}
