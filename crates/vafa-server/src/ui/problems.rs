//! How a refusal reads to a person: the error code's own words, each field by its label
//! (a row of a list by its number), and the API's message in the reader's language.

use super::i18n::{self, View};
use crate::error::{ApiError, ErrorCode};

/// The lines an error shows to a person: the code's own words, then each field named
/// by its label.
pub fn problem_lines(v: &View, e: &ApiError) -> Vec<String> {
    let key = format!("err_{}", e.code.as_str());
    let mut lines = Vec::new();
    let general = v.t(&key);
    // A code with its own words says it best (a duplicate mobile); a validation error
    // names each field.
    if general != key && e.code != ErrorCode::ValidationFailed {
        lines.push(general);
    } else if e.errors.is_empty() {
        lines.push(if general == key {
            e.detail.clone()
        } else {
            general
        });
    } else {
        for f in &e.errors {
            lines.push(format!(
                "{}: {}",
                field_label(v, &f.field),
                api_message(v, &f.message)
            ));
        }
    }
    lines
}

/// A field's name in the reader's words: `mobile` → موبایل, `window.months` → تعداد ماه,
/// `tiers[1].threshold` → ردیف ۲ — آستانه; the API's own name when there is none.
fn field_label(v: &View, field: &str) -> String {
    let named = |f: &str| {
        let key = format!("field_{}", f.replace('.', "_"));
        let label = v.t(&key);
        (label != key).then_some(label)
    };
    if let Some(label) = named(field) {
        return label;
    }
    // `list[i].name`: the row (counted from 1) and the name within it.
    let row = field
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once("]."))
        .and_then(|(i, name)| {
            let n = i.parse::<i64>().ok()?.checked_add(1)?;
            Some((n, named(name)?))
        });
    match row {
        Some((n, name)) => format!("{} — {name}", v.tf("field_row", &[("n", v.n(&n))])),
        None => field.to_owned(),
    }
}

/// What the API says of a field, in the reader's words: the messages the UI's forms can
/// provoke (each by the English it starts with) and their keys in the translation files.
pub(super) const API_MESSAGES: &[(&str, &str)] = &[
    ("is not an Iranian mobile number", "apimsg_mobile"),
    ("names no customer", "apimsg_no_customer"),
    ("must be ticked", "apimsg_must_tick"),
    ("names more than one customer", "apimsg_many_customers"),
    ("is empty", "apimsg_empty"),
    ("must not be empty", "apimsg_empty"),
    ("not given", "apimsg_empty"),
    ("missing", "apimsg_empty"),
    ("must be 10 digits", "apimsg_national_id_length"),
    (
        "must not be one digit repeated",
        "apimsg_national_id_repeated",
    ),
    (
        "check digit does not match: not a valid national id",
        "apimsg_national_id_check",
    ),
    ("is not a date", "apimsg_date"),
    ("not a date", "apimsg_date"),
    ("is not a real day in the calendar", "apimsg_not_a_day"),
    ("not a time of day", "apimsg_time"),
    ("must be between the years 1900 and 2200", "apimsg_years"),
    ("must not be before 1900", "apimsg_before_1900"),
    ("must not be in the future", "apimsg_not_future"),
    ("must be in the future", "apimsg_future"),
    ("must be 16 digits", "apimsg_card_length"),
    (
        "check digit does not match: a digit is mistyped",
        "apimsg_card_check",
    ),
    ("is not an amount", "apimsg_amount"),
    ("has more than", "apimsg_amount_decimals"),
    ("is too large", "apimsg_too_large"),
    ("must not be negative", "apimsg_negative"),
    ("must be more than zero", "apimsg_positive"),
    ("must be positive", "apimsg_positive"),
    ("a whole number of points, or", "apimsg_points_whole"),
    ("out of range", "apimsg_out_of_range"),
    ("is not an e-mail address", "apimsg_email"),
    (
        "must not contain control characters",
        "apimsg_control_chars",
    ),
    ("must hold 1 to 20 tiers", "apimsg_tiers_count"),
    ("must be 1 to 32 of a-z, 0-9 and _", "apimsg_code_chars"),
    ("is used by another tier", "apimsg_tier_code_taken"),
    ("must be 1 to 64 characters", "apimsg_name_length"),
    ("the first tier starts at 0", "apimsg_first_tier_zero"),
    ("must be above the previous tier's", "apimsg_above_previous"),
    ("at most 50 non-empty SKUs", "apimsg_free_items"),
    (
        "needs at least 6 # (random characters)",
        "apimsg_pattern_random",
    ),
];

fn api_message(v: &View, message: &str) -> String {
    // "is 120 characters long; at most 100 allowed" / "at most 100 characters"
    let longest = message
        .strip_prefix("at most ")
        .and_then(|m| m.strip_suffix(" characters"))
        .or_else(|| {
            message
                .split_once("characters long; at most ")
                .and_then(|(_, m)| m.strip_suffix(" allowed"))
        })
        .and_then(|n| n.parse::<i64>().ok());
    if let Some(max) = longest {
        return v.tf("apimsg_too_long", &[("max", v.n(&max))]);
    }
    let number = |s: &str| s.trim().parse::<i64>().ok();
    if let Some((a, b)) = message
        .strip_prefix("must be between ")
        .and_then(|m| m.split_once(" and "))
        .and_then(|(a, b)| Some((number(a)?, number(b)?)))
    {
        return v.tf("apimsg_between", &[("a", v.n(&a)), ("b", v.n(&b))]);
    }
    if let Some(n) = message.strip_prefix("must be at most ").and_then(number) {
        return v.tf("apimsg_at_most", &[("n", v.n(&n))]);
    }
    // A return larger than what is left of the purchase: the most, as money in the unit
    // shown (the API says it in minor units).
    if let Some(left) = message
        .strip_prefix("amount must be between 1 and the ")
        .and_then(|m| m.strip_suffix(" not yet returned"))
        .and_then(number)
    {
        return v.tf("apimsg_return_max", &[("max", v.money(&left))]);
    }
    if let Some(max) = message
        .strip_prefix("must be positive and bring the ticket's goodwill to at most ")
        .and_then(|m| m.split_whitespace().next())
        .and_then(number)
    {
        return v.tf("apimsg_goodwill_max", &[("max", v.n(&max))]);
    }
    // "the customer was granted G goodwill points in the last 30 days; at most L are
    // allowed (…), so at most R more": what is left for this customer.
    if let Some((granted, rest)) = message
        .strip_prefix("the customer was granted ")
        .and_then(|m| m.split_once(" goodwill points in the last 30 days; at most "))
    {
        let left = rest
            .rsplit_once("so at most ")
            .and_then(|(_, r)| r.strip_suffix(" more").and_then(number));
        if let (Some(granted), Some(left)) = (number(granted), left) {
            return v.tf(
                "apimsg_goodwill_customer",
                &[("granted", v.n(&granted)), ("left", v.n(&left))],
            );
        }
    }
    // The points (or cashback) a cart can take: the most, in the reader's digits and unit.
    if let Some(max) = message
        .strip_prefix("at most ")
        .and_then(|m| m.strip_suffix(" points can pay for this cart"))
        .and_then(number)
    {
        return v.tf("apimsg_points_cart_max", &[("max", v.n(&max))]);
    }
    if let Some(max) = message
        .strip_prefix("at most ")
        .and_then(|m| m.strip_suffix(" of cashback can pay for this cart (minor units)"))
        .and_then(number)
    {
        return v.tf("apimsg_cashback_cart_max", &[("max", v.money(&max))]);
    }
    // A CEL parse error, "line 1, column 17: Syntax error: …": where, in the reader's
    // words, with the parser's own text kept for whoever fixes it.
    if let Some((line, col, rest)) = message
        .strip_prefix("line ")
        .and_then(|m| m.split_once(", column "))
        .and_then(|(l, m)| m.split_once(": ").map(|(c, r)| (l, c, r)))
        .and_then(|(l, c, r)| Some((number(l)?, number(c)?, r)))
    {
        let at = v.tf("apimsg_cel_at", &[("line", v.n(&line)), ("col", v.n(&col))]);
        return format!("{at} ({rest})");
    }
    // What the JSON parser says of a number that is not one, or is out of its range.
    if let Some(rest) = message.strip_prefix("invalid value: integer ") {
        // A whole number too large for its field is out of range, not "negative".
        return if rest.contains("expected u") && rest.trim_start_matches('`').starts_with('-') {
            v.t("apimsg_whole_not_negative")
        } else {
            v.t("apimsg_out_of_range")
        };
    }
    if message.starts_with("invalid type: ")
        && [
            "expected i",
            "expected u",
            "expected f",
            "expected a number",
        ]
        .iter()
        .any(|e| message.contains(e))
    {
        return v.t("must_be_number");
    }
    match API_MESSAGES
        .iter()
        .find(|(start, _)| message.starts_with(start))
    {
        Some((_, key)) => v.t(key),
        // Words the table does not know yet: say so in the reader's language, and keep
        // the API's own for whoever helps them.
        None if v.lang == i18n::Lang::Fa => format!("{} ({message})", v.t("apimsg_other")),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_messages_read_in_the_readers_language() {
        use super::i18n::{Lang, View};
        let view = |lang| View {
            lang,
            currency: "IRR".parse().unwrap(),
            unit: vafa_store::MoneyUnit::Toman,
            calendar: vafa_core::ledger::CalendarKind::Jalali,
            tz: jiff::tz::TimeZone::UTC,
        };
        let (fa, en) = (view(Lang::Fa), view(Lang::En));
        let mobile = vafa_core::mobile::Mobile::parse("12345")
            .unwrap_err()
            .to_string();
        assert_eq!(super::api_message(&fa, &mobile), fa.t("apimsg_mobile"));
        assert!(!super::api_message(&fa, &mobile).is_ascii());
        assert_eq!(super::api_message(&en, &mobile), en.t("apimsg_mobile"));
        let date = vafa_core::date::parse_calendar_date("1405/13/01")
            .unwrap_err()
            .to_string();
        assert!(!super::api_message(&fa, &date).contains("date"), "{date}");
        assert_eq!(
            super::api_message(&fa, "is 120 characters long; at most 100 allowed"),
            fa.t("apimsg_too_long").replace("{max}", "۱۰۰")
        );
        assert_eq!(
            super::api_message(&en, "at most 100 characters"),
            "at most 100 characters"
        );
        // The counter's most common refusal, in Persian with Persian digits.
        let points = super::api_message(&fa, "at most 700 points can pay for this cart");
        assert!(
            points.contains("۷۰۰") && !points.contains("points"),
            "{points}"
        );
        assert!(!super::api_message(&fa, "a whole number of points, or \"max\"").is_ascii());
        assert!(!super::api_message(&fa, "must be positive").is_ascii());
        // Words not in the table: Persian first, the API's own kept in brackets.
        let other = super::api_message(&fa, "must be value or churn_risk");
        assert!(
            other.starts_with(&fa.t("apimsg_other"))
                && other.ends_with("(must be value or churn_risk)")
        );
    }
}
