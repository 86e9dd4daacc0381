//! Reply templates: polite, ready-made answers in Persian and English with `{{variable}}`
//! placeholders, which a program may override one by one.
//!
//! Placeholders are checked when a template is saved, and rendering refuses to send a
//! message with a blank where a name should be: a missing value is an error, not "".

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The variables a template may use. Callers pass display-ready values (the customer's
/// name with honorific, points and numbers in the digits of the message's language, the
/// stage as a label rather than its code).
pub const TEMPLATE_VARIABLES: &[&str] = &[
    "customer_name",
    "ticket_number",
    "staff_name",
    "program_name",
    "points",
    "link",
    "order_number",
    "stage",
];

/// Longest template body, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 2000;

/// Longest variable name quoted back in an error, in characters.
const MAX_QUOTED_NAME_CHARS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTemplate {
    pub key: String,
    pub fa: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("no value was given for {{{{{0}}}}}")]
    Missing(String),
    #[error("{{{{{0}}}}} is not a known variable; use one of: {vars}", vars = TEMPLATE_VARIABLES.join(", "))]
    Unknown(String),
    #[error("a \"{{{{\" is not closed with \"}}}}\"")]
    Unclosed,
    #[error("the template is empty")]
    Empty,
    #[error("the template is longer than {max} characters", max = MAX_TEMPLATE_CHARS)]
    TooLong,
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Split a body into text and known placeholders (`{{ name }}`, spaces allowed inside).
fn parse(body: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let name = after[..close].trim();
        if !TEMPLATE_VARIABLES.contains(&name) {
            let quoted = name.chars().take(MAX_QUOTED_NAME_CHARS).collect();
            return Err(TemplateError::Unknown(quoted));
        }
        pieces.push(Piece::Var(name));
        rest = &after[close + 2..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// The distinct variables a body uses, in order of first use.
pub fn placeholders(body: &str) -> Result<Vec<&str>, TemplateError> {
    let mut names: Vec<&str> = Vec::new();
    for piece in parse(body)? {
        if let Piece::Var(name) = piece {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// Replace every `{{var}}` with its value. A known variable without a value is
/// [`TemplateError::Missing`]; values are inserted as given, never re-parsed.
pub fn render(body: &str, vars: &BTreeMap<&str, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(body.len());
    for piece in parse(body)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Var(name) => {
                let value = vars
                    .get(name)
                    .ok_or_else(|| TemplateError::Missing(name.to_string()))?;
                out.push_str(value);
            }
        }
    }
    Ok(out)
}

/// Check a body at save time: not blank, at most [`MAX_TEMPLATE_CHARS`] characters, and
/// every placeholder closed and known.
pub fn check_template(body: &str) -> Result<(), TemplateError> {
    if body.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    if body.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(TemplateError::TooLong);
    }
    parse(body).map(|_| ())
}

/// The keys of the built-in templates.
pub const TEMPLATE_KEYS: &[&str] = &[
    "acknowledge",
    "apology",
    "need_info",
    "resolved",
    "resolved_no_gift",
    "csat_request",
    "task_reminder",
    "order_stage",
];

/// The built-in template with this key, if there is one.
pub fn default_template(key: &str) -> Option<ReplyTemplate> {
    default_templates().into_iter().find(|t| t.key == key)
}

/// The built-in templates, one per [`TEMPLATE_KEYS`] entry. Variables used:
///
/// | key | variables |
/// |---|---|
/// | `acknowledge` | customer_name, ticket_number, program_name |
/// | `apology`, `need_info`, `resolved_no_gift` | customer_name, ticket_number, staff_name, program_name |
/// | `resolved` | the same and points |
/// | `csat_request` | customer_name, program_name, link |
/// | `task_reminder` (to staff) | staff_name, customer_name |
/// | `order_stage` | customer_name, order_number, stage, program_name |
pub fn default_templates() -> Vec<ReplyTemplate> {
    let t = |key: &str, fa: &str, en: &str| ReplyTemplate {
        key: key.into(),
        fa: fa.into(),
        en: en.into(),
    };
    vec![
        t(
            "acknowledge",
            "{{customer_name}} عزیز، سلام.\n\
             پیام‌تان به دست ما رسید و با کد پیگیری {{ticket_number}} ثبت شد. از این‌که موضوع را \
             با ما در میان گذاشتید سپاس‌گزاریم. همکاران ما در حال بررسی آن هستند و نتیجه را در \
             اولین فرصت به اطلاع‌تان می‌رسانیم.\n\
             با احترام،\n{{program_name}}",
            "Dear {{customer_name}},\n\
             Thank you for getting in touch. We have received your message and logged it under \
             reference {{ticket_number}}. Our team is already looking into it and will get back \
             to you as soon as possible.\n\
             Kind regards,\n{{program_name}}",
        ),
        t(
            "apology",
            "{{customer_name}} عزیز، سلام.\n\
             بابت مشکلی که پیش آمد صمیمانه از شما عذرخواهی می‌کنیم؛ این اشتباه از سوی ما بوده \
             است. موضوع را با کد پیگیری {{ticket_number}} با دقت بررسی کرده‌ایم. آن را جبران \
             می‌کنیم، تا رفع کامل مشکل شما را در جریان می‌گذاریم و پیگیری می‌کنیم تا چنین \
             اتفاقی تکرار نشود. از صبر و شکیبایی‌تان سپاس‌گزاریم.\n\
             با احترام،\n{{staff_name}}\n{{program_name}}",
            "Dear {{customer_name}},\n\
             We are truly sorry for the trouble we caused you; the mistake was ours. We have \
             looked carefully into your case (reference {{ticket_number}}). We are putting it \
             right, we will keep you updated until it is fully resolved, and we are making sure \
             it does not happen again. Thank you for your patience.\n\
             Kind regards,\n{{staff_name}}\n{{program_name}}",
        ),
        t(
            "need_info",
            "{{customer_name}} عزیز، سلام.\n\
             برای پیگیری درخواست‌تان با کد پیگیری {{ticket_number}} به اطلاعات بیشتری از شما \
             نیاز داریم. لطفاً در پاسخ به همین پیام، جزئیات را برای ما بفرستید تا بتوانیم هر چه \
             زودتر آن را به نتیجه برسانیم.\n\
             با سپاس،\n{{staff_name}}\n{{program_name}}",
            "Dear {{customer_name}},\n\
             To move your request (reference {{ticket_number}}) forward, we need a little more \
             information from you. Could you please reply to this message with the details, so \
             that we can resolve it as quickly as possible?\n\
             Many thanks,\n{{staff_name}}\n{{program_name}}",
        ),
        t(
            "resolved",
            "{{customer_name}} عزیز، سلام.\n\
             خوشحالیم به اطلاع‌تان برسانیم که موضوع شما با کد پیگیری {{ticket_number}} بررسی و \
             برطرف شد. به پاس صبر و همراهی‌تان، {{points}} امتیاز هدیه به حساب شما در \
             {{program_name}} افزوده شد. اگر باز هم پرسشی داشتید، با کمال میل در خدمت‌تان \
             هستیم.\n\
             با احترام،\n{{staff_name}}\n{{program_name}}",
            "Dear {{customer_name}},\n\
             We are glad to let you know that your case (reference {{ticket_number}}) has been \
             resolved. As a thank-you for your patience, we have added a goodwill gift of \
             {{points}} points to your {{program_name}} account. If you have any further \
             questions, we are always happy to help.\n\
             Kind regards,\n{{staff_name}}\n{{program_name}}",
        ),
        t(
            "resolved_no_gift",
            "{{customer_name}} عزیز، سلام.\n\
             خوشحالیم به اطلاع‌تان برسانیم که موضوع شما با کد پیگیری {{ticket_number}} بررسی و \
             برطرف شد. از صبر و همراهی‌تان سپاس‌گزاریم. اگر باز هم پرسشی داشتید، با کمال میل \
             در خدمت‌تان هستیم.\n\
             با احترام،\n{{staff_name}}\n{{program_name}}",
            "Dear {{customer_name}},\n\
             We are glad to let you know that your case (reference {{ticket_number}}) has been \
             resolved. Thank you for your patience. If you have any further questions, we are \
             always happy to help.\n\
             Kind regards,\n{{staff_name}}\n{{program_name}}",
        ),
        t(
            "csat_request",
            "{{customer_name}} عزیز، سلام.\n\
             سپاس‌گزاریم که با {{program_name}} در تماس بودید. نظر شما برای ما بسیار ارزشمند \
             است؛ لطفاً با شرکت در نظرسنجی کوتاه زیر، ما را در بهتر کردن خدمات‌مان یاری کنید:\n\
             {{link}}\n\
             با سپاس،\n{{program_name}}",
            "Dear {{customer_name}},\n\
             Thank you for contacting {{program_name}}. Your opinion matters a great deal to us; \
             would you please take a moment to rate our service? It only takes a minute:\n\
             {{link}}\n\
             With thanks,\n{{program_name}}",
        ),
        t(
            "task_reminder",
            "{{staff_name}} گرامی، سلام.\n\
             یادآوری: موعد قولی که به {{customer_name}} داده شده، فرا رسیده است. لطفاً آن را \
             پیگیری کنید و نتیجه را ثبت کنید.\n\
             با سپاس",
            "Hello {{staff_name}},\n\
             A reminder: a promise made to {{customer_name}} is now due. Please follow it up \
             and record the outcome.\n\
             Thank you",
        ),
        t(
            "order_stage",
            "{{customer_name}} عزیز، سلام.\n\
             سفارش شما با کد {{order_number}} اکنون در مرحله‌ی «{{stage}}» است. از این‌که ما را \
             انتخاب کردید سپاس‌گزاریم.\n\
             {{program_name}}",
            "Dear {{customer_name}},\n\
             Your order {{order_number}} has moved to a new stage: {{stage}}. Thank you for \
             choosing us.\n\
             {{program_name}}",
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    fn all_vars() -> BTreeMap<&'static str, String> {
        vars(&[
            ("customer_name", "آقای رضایی"),
            ("ticket_number", "T-1042"),
            ("staff_name", "مریم احمدی"),
            ("program_name", "باشگاه وفا"),
            ("points", "۵۰۰"),
            ("link", "https://example.com/r/abc"),
            ("order_number", "O-77"),
            ("stage", "ارسال‌شده"),
        ])
    }

    #[test]
    fn renders_variables_with_or_without_spaces() {
        let v = vars(&[("customer_name", "Sara"), ("points", "20")]);
        assert_eq!(
            render(
                "Hi {{customer_name}}, {{ points }} pts, {{  customer_name\t}}.",
                &v
            )
            .unwrap(),
            "Hi Sara, 20 pts, Sara."
        );
        assert_eq!(render("no placeholders", &v).unwrap(), "no placeholders");
        assert_eq!(render("", &v).unwrap(), "");
        // Single braces are text, and values are not parsed again.
        let v = vars(&[("customer_name", "{{link}}")]);
        assert_eq!(
            render("{a} {{customer_name}} }}", &v).unwrap(),
            "{a} {{link}} }}"
        );
    }

    #[test]
    fn render_errors() {
        let v = vars(&[("customer_name", "Sara")]);
        assert_eq!(
            render("{{customer_name}} {{points}}", &v),
            Err(TemplateError::Missing("points".into()))
        );
        assert_eq!(
            render("{{ coupon }}", &v),
            Err(TemplateError::Unknown("coupon".into()))
        );
        assert_eq!(render("{{}}", &v), Err(TemplateError::Unknown("".into())));
        assert_eq!(
            render("Hi {{customer_name", &v),
            Err(TemplateError::Unclosed)
        );
        assert_eq!(
            render("{{customer_name}} {{", &v),
            Err(TemplateError::Unclosed)
        );
        let e = TemplateError::Unknown("coupon".into()).to_string();
        assert!(
            e.starts_with("{{coupon}} is not a known variable; use one of: customer_name"),
            "{e}"
        );
        assert_eq!(
            TemplateError::Missing("points".into()).to_string(),
            "no value was given for {{points}}"
        );
        assert_eq!(
            TemplateError::Unclosed.to_string(),
            "a \"{{\" is not closed with \"}}\""
        );
    }

    #[test]
    fn check_at_save_time() {
        assert_eq!(check_template("  \n "), Err(TemplateError::Empty));
        assert_eq!(
            check_template(&"ی".repeat(2001)),
            Err(TemplateError::TooLong)
        );
        assert!(check_template(&"ی".repeat(2000)).is_ok());
        assert_eq!(
            check_template("{{ nope }}"),
            Err(TemplateError::Unknown("nope".into()))
        );
        assert_eq!(check_template("{{link"), Err(TemplateError::Unclosed));
        assert!(check_template("{{link}}").is_ok());
        let long_name = format!("{{{{{}}}}}", "x".repeat(500));
        let Err(TemplateError::Unknown(quoted)) = check_template(&long_name) else {
            panic!("expected Unknown");
        };
        assert_eq!(quoted.len(), 40);
        assert_eq!(
            placeholders("{{link}} {{ points }} {{link}}").unwrap(),
            ["link", "points"]
        );
    }

    #[test]
    fn default_templates_are_valid_and_render_completely() {
        let templates = default_templates();
        let keys: Vec<&str> = templates.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, TEMPLATE_KEYS);
        let all = all_vars();
        for t in &templates {
            for (lang, body) in [("fa", &t.fa), ("en", &t.en)] {
                check_template(body).unwrap();
                let out = render(body, &all).unwrap();
                assert!(
                    !out.contains("{{") && !out.contains("}}"),
                    "{} {lang}",
                    t.key
                );
            }
            // Both languages use the same variables, so one set of values fits both.
            let sorted = |body: &str| {
                let mut names: Vec<String> = placeholders(body)
                    .unwrap()
                    .into_iter()
                    .map(String::from)
                    .collect();
                names.sort();
                names
            };
            assert_eq!(sorted(&t.fa), sorted(&t.en), "{}", t.key);
            // Persian punctuation and the polite address in Persian texts.
            assert!(!t.fa.contains([',', ';', '?']), "{}", t.key);
            if t.key != "task_reminder" {
                assert!(t.fa.starts_with("{{customer_name}} عزیز، "), "{}", t.key);
                assert!(t.en.starts_with("Dear {{customer_name}},"), "{}", t.key);
            }
        }
        let resolved = default_template("resolved").unwrap();
        assert!(resolved.fa.contains("{{points}} امتیاز"));
        assert!(!default_template("resolved_no_gift")
            .unwrap()
            .fa
            .contains("points"));
        assert!(default_template("nope").is_none());
        let ack = render(&default_template("acknowledge").unwrap().fa, &all).unwrap();
        assert!(
            ack.contains("پیام\u{200c}تان") && ack.contains("می\u{200c}رسانیم"),
            "{ack}"
        );
    }
}
