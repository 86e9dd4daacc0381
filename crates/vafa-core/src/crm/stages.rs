//! Order stages: a fixed forward path (received → preparing → shipped → delivered), a
//! `cancelled` exit, and any custom stages a program names for its own workflow.
//!
//! Stages are plain names rather than an enum so a program can add its own ("gift_wrap",
//! "awaiting_pickup") without a migration; the built-in ones keep their order.

/// The built-in stages; the first four in order, then the `cancelled` exit.
pub const ORDER_STAGES: [&str; 5] = ["received", "preparing", "shipped", "delivered", "cancelled"];

/// Longest stage name, in characters.
const MAX_STAGE_CHARS: usize = 32;

/// Validate a stage name, built-in or custom: `^[a-z][a-z0-9_]{0,31}$`.
pub fn check_stage_name(stage: &str) -> Result<(), String> {
    let mut chars = stage.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && stage.len() <= MAX_STAGE_CHARS {
        Ok(())
    } else {
        Err(format!(
            "stage {stage:?} must be 1 to {MAX_STAGE_CHARS} characters of a-z, 0-9 and _, \
             starting with a letter"
        ))
    }
}

/// Position of a built-in forward stage, `None` for `cancelled` and custom stages.
fn forward_rank(stage: &str) -> Option<usize> {
    ORDER_STAGES[..4].iter().position(|s| *s == stage)
}

fn is_final(stage: &str) -> bool {
    stage == "delivered" || stage == "cancelled"
}

/// May an order at `from`, having been at the stages `before`, move to `to`? Nothing
/// changes after `delivered` or `cancelled`; built-in stages never go backwards — not
/// even by way of a custom stage (shipped → gift_wrap → received), so the furthest
/// built-in stage reached counts, not only the current one; custom stages and
/// `cancelled` may be entered from any stage that is not final. Staying put is an error,
/// so a repeated request does not log a second, empty stage change.
pub fn check_stage_change(from: &str, to: &str, before: &[&str]) -> Result<(), String> {
    check_stage_name(from)?;
    check_stage_name(to)?;
    if from == to {
        return Err(format!("the order is already at stage {from:?}"));
    }
    if is_final(from) {
        return Err(format!(
            "the order is {from}; its stage can no longer change"
        ));
    }
    let furthest = before
        .iter()
        .chain([&from])
        .filter_map(|s| forward_rank(s).map(|r| (r, *s)))
        .max();
    if let (Some((a, reached)), Some(b)) = (furthest, forward_rank(to)) {
        if b < a {
            return Err(format!(
                "an order cannot go back from {reached:?} to {to:?}"
            ));
        }
    }
    Ok(())
}

/// What a program calls one of its own stages, in each language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageLabel {
    pub fa: String,
    pub en: String,
}

/// Custom stages a program may name, at most.
pub const MAX_STAGE_LABELS: usize = 50;
/// Longest stage label, in characters.
const MAX_LABEL_CHARS: usize = 40;

/// Check a program's names for its custom stages; each error is (stage, message).
pub fn check_stage_labels(
    labels: &std::collections::BTreeMap<String, StageLabel>,
) -> Result<(), Vec<(String, String)>> {
    let mut errors = Vec::new();
    if labels.len() > MAX_STAGE_LABELS {
        errors.push((String::new(), format!("at most {MAX_STAGE_LABELS} stages")));
    }
    for (stage, label) in labels {
        if let Err(e) = check_stage_name(stage) {
            errors.push((stage.clone(), e));
        } else if ORDER_STAGES.contains(&stage.as_str()) {
            errors.push((stage.clone(), "a built-in stage keeps its own words".into()));
        }
        let fits = |s: &str| !s.trim().is_empty() && s.chars().count() <= MAX_LABEL_CHARS;
        if !fits(&label.fa) || !fits(&label.en) {
            errors.push((
                stage.clone(),
                format!("fa and en must each be 1 to {MAX_LABEL_CHARS} characters"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// How a stage reads in a message to the customer: the built-in stages in words, a
/// custom stage by the program's name for it, or by its code with `_` as spaces.
pub fn stage_label(
    stage: &str,
    persian: bool,
    custom: &std::collections::BTreeMap<String, StageLabel>,
) -> String {
    if let Some(l) = custom.get(stage) {
        return if persian { l.fa.clone() } else { l.en.clone() };
    }
    let built_in = match (stage, persian) {
        ("received", true) => "ثبت شد",
        ("received", false) => "received",
        ("preparing", true) => "در حال آماده‌سازی",
        ("preparing", false) => "being prepared",
        ("shipped", true) => "ارسال شد",
        ("shipped", false) => "shipped",
        ("delivered", true) => "تحویل داده شد",
        ("delivered", false) => "delivered",
        ("cancelled", true) => "لغو شد",
        ("cancelled", false) => "cancelled",
        _ => return stage.replace('_', " "),
    };
    built_in.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_labels() {
        let none = std::collections::BTreeMap::new();
        assert_eq!(stage_label("shipped", true, &none), "ارسال شد");
        assert_eq!(stage_label("shipped", false, &none), "shipped");
        assert_eq!(stage_label("gift_wrap", true, &none), "gift wrap");
        let named = std::collections::BTreeMap::from([(
            "gift_wrap".to_owned(),
            StageLabel {
                fa: "کادوپیچی".into(),
                en: "Gift wrapping".into(),
            },
        )]);
        assert_eq!(stage_label("gift_wrap", true, &named), "کادوپیچی");
        assert_eq!(stage_label("gift_wrap", false, &named), "Gift wrapping");
        assert_eq!(stage_label("shipped", true, &named), "ارسال شد");
        assert!(check_stage_labels(&named).is_ok());
        let bad = std::collections::BTreeMap::from([
            (
                "shipped".to_owned(),
                StageLabel {
                    fa: "x".into(),
                    en: "x".into(),
                },
            ),
            (
                "Bad".to_owned(),
                StageLabel {
                    fa: "x".into(),
                    en: "x".into(),
                },
            ),
            (
                "ok_one".to_owned(),
                StageLabel {
                    fa: " ".into(),
                    en: "x".into(),
                },
            ),
        ]);
        let errors = check_stage_labels(&bad).unwrap_err();
        let stages: Vec<&str> = errors.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(stages, ["Bad", "ok_one", "shipped"]);
    }

    #[test]
    fn stage_names() {
        for ok in ORDER_STAGES
            .iter()
            .copied()
            .chain(["gift_wrap", "a", "x2", "a_b_c"])
        {
            assert!(check_stage_name(ok).is_ok(), "{ok}");
        }
        let longest = format!("a{}", "b".repeat(31));
        assert!(check_stage_name(&longest).is_ok());
        let too_long = format!("a{}", "b".repeat(32));
        for bad in [
            "",
            "Shipped",
            "2nd",
            "_x",
            "with space",
            "ارسال",
            "a-b",
            &too_long,
        ] {
            assert!(check_stage_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stage_changes() {
        let ok = [
            ("received", "preparing"),
            ("received", "delivered"),
            ("preparing", "shipped"),
            ("shipped", "delivered"),
            ("received", "cancelled"),
            ("shipped", "cancelled"),
            ("received", "gift_wrap"),
            ("gift_wrap", "received"),
            ("gift_wrap", "shipped"),
            ("gift_wrap", "awaiting_pickup"),
            ("gift_wrap", "cancelled"),
            ("awaiting_pickup", "delivered"),
        ];
        for (from, to) in ok {
            assert!(check_stage_change(from, to, &[]).is_ok(), "{from} -> {to}");
        }
        // Back to a built-in stage after a detour: to the one it left, yes; behind it, no.
        let past = ["received", "preparing", "shipped"];
        assert!(check_stage_change("gift_wrap", "shipped", &past).is_ok());
        assert!(check_stage_change("gift_wrap", "delivered", &past).is_ok());
        for to in ["received", "preparing"] {
            let e = check_stage_change("gift_wrap", to, &past).unwrap_err();
            assert!(e.contains("\"shipped\""), "{e}");
        }
        let bad = [
            ("shipped", "preparing"),
            ("delivered", "received"),
            ("delivered", "cancelled"),
            ("delivered", "gift_wrap"),
            ("cancelled", "received"),
            ("cancelled", "gift_wrap"),
            ("received", "received"),
            ("gift_wrap", "gift_wrap"),
            ("received", "Bad"),
            ("", "received"),
        ];
        for (from, to) in bad {
            assert!(check_stage_change(from, to, &[]).is_err(), "{from} -> {to}");
        }
    }
}
