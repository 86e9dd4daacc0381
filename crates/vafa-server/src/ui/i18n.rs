//! The admin UI's words and numbers: every string comes from `ui/fa.json` or
//! `ui/en.json`; numbers, money and dates are shaped for the reader (Persian digits and
//! separators, toman or rial, the Jalali or Gregorian calendar in the program's zone).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::LazyLock;
use vafa_core::ledger::CalendarKind;
use vafa_core::program::Currency;
use vafa_store::MoneyUnit;

/// Every string the UI shows, per language.
static STRINGS: LazyLock<HashMap<&'static str, HashMap<String, String>>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for (lang, json) in [
        ("fa", include_str!("../../ui/fa.json")),
        ("en", include_str!("../../ui/en.json")),
    ] {
        m.insert(lang, serde_json::from_str(json).unwrap_or_default());
    }
    m
});

/// The raw translation tables, for the test that every key used exists in both.
pub fn tables() -> [(&'static str, &'static str); 2] {
    [
        ("fa", include_str!("../../ui/fa.json")),
        ("en", include_str!("../../ui/en.json")),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fa,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "fa" => Some(Lang::Fa),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fa => "fa",
            Lang::En => "en",
        }
    }

    pub fn dir(self) -> &'static str {
        match self {
            Lang::Fa => "rtl",
            Lang::En => "ltr",
        }
    }

    pub fn t(self, key: &str) -> String {
        STRINGS
            .get(self.code())
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// Persian digits in Persian; the string as it is in English.
    pub fn digits(self, s: &str) -> String {
        match self {
            Lang::Fa => vafa_core::digits::to_persian_digits(s),
            Lang::En => s.to_owned(),
        }
    }

    /// A whole number with thousands separators, in this language's digits.
    // `is_multiple_of` is newer than our rust-version (1.86).
    #[allow(clippy::manual_is_multiple_of)]
    pub fn number(self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = if self == Lang::Fa { '٬' } else { ',' };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(sep);
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        self.digits(&out)
    }

    /// A decimal with `places` digits after the point, in this language's digits.
    pub fn decimal(self, x: f64, places: usize) -> String {
        let s = format!("{x:.places$}");
        match self {
            Lang::Fa => self.digits(&s.replace('.', "٫")),
            Lang::En => s,
        }
    }

    pub fn percent(self, p: f64) -> String {
        match self {
            Lang::Fa => format!("{}٪", self.decimal(p, 1)),
            Lang::En => format!("{}%", self.decimal(p, 1)),
        }
    }
}

/// How one reader sees one program: their language, the program's money unit,
/// calendar and time zone.
#[derive(Debug, Clone)]
pub struct View {
    pub lang: Lang,
    pub currency: Currency,
    pub unit: MoneyUnit,
    pub calendar: CalendarKind,
    pub tz: jiff::tz::TimeZone,
}

impl View {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// A translated string with `{name}` placeholders filled.
    pub fn tf(&self, key: &str, args: &[(&str, String)]) -> String {
        let mut s = self.lang.t(key);
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    pub fn dir(&self) -> &'static str {
        self.lang.dir()
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn n(&self, n: &i64) -> String {
        self.lang.number(*n)
    }

    pub fn pct(&self, p: &f64) -> String {
        self.lang.percent(*p)
    }

    pub fn dec(&self, x: &f64) -> String {
        self.lang.decimal(*x, 1)
    }

    pub fn digits(&self, s: &str) -> String {
        self.lang.digits(s)
    }

    /// A decimal written as text (`1.25`), in this language's digits and decimal sign
    /// (`۱٫۲۵`).
    pub fn decimal_text(&self, s: &str) -> String {
        match self.lang {
            Lang::Fa => self.digits(s).replace('.', "٫"),
            Lang::En => s.to_owned(),
        }
    }

    /// The unit money is shown (and typed) in.
    pub fn unit_name(&self) -> String {
        match (self.currency, self.unit) {
            (Currency::Irr, MoneyUnit::Toman) => self.t("unit_toman"),
            (Currency::Irr, MoneyUnit::Rial) => self.t("unit_rial"),
            (c, _) => c.code().to_owned(),
        }
    }

    /// A label naming the money unit: `{unit}` in the string.
    pub fn with_unit(&self, key: &str) -> String {
        self.tf(key, &[("unit", self.unit_name())])
    }

    /// Minor units per unit shown: 10 rials to the toman, 1 to the rial, 100 cents.
    pub fn unit_minor(&self) -> i64 {
        match (self.currency, self.unit) {
            (Currency::Irr, MoneyUnit::Toman) => 10,
            (Currency::Irr, MoneyUnit::Rial) => 1,
            (c, _) => 10i64.pow(c.scale()),
        }
    }

    /// "From … to …" reads in the page's direction: ← in Persian, → in English.
    pub fn arrow(&self) -> &'static str {
        match self.lang {
            Lang::Fa => "←",
            Lang::En => "→",
        }
    }

    /// An amount in minor units, as people read it: `۱۲٬۵۰۰ تومان`. Toman shows whole
    /// toman (rials below one toman are not shown; receipts round the same way).
    pub fn money(&self, minor: &i64) -> String {
        let per = self.unit_minor().max(1);
        let sign = if *minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let per_u = per.unsigned_abs();
        let whole = self
            .lang
            .number(i64::try_from(abs / per_u).unwrap_or(i64::MAX));
        let shown = if per == 10 || per == 1 {
            whole
        } else {
            let sep = if self.lang == Lang::Fa { "٫" } else { "." };
            format!(
                "{whole}{sep}{}",
                self.lang.digits(&format!("{:02}", abs % per_u))
            )
        };
        format!("{sign}{shown} {}", self.unit_name())
    }

    /// A `MoneyDto` amount (a decimal string: rials for IRR, dollars and cents for USD).
    pub fn money_str(&self, amount: &str) -> String {
        match parse_minor(amount, self.currency) {
            Some(m) => self.money(&m),
            None => self.digits(amount),
        }
    }

    /// The minor units of a `MoneyDto` amount (0 when it does not parse: the API never
    /// sends one that does not).
    pub fn minor_of(&self, amount: &str) -> i64 {
        parse_minor(amount, self.currency).unwrap_or(0)
    }

    /// Typed money (in the unit shown: toman by default) as minor units, not negative.
    /// Persian or Latin digits, thousands separators allowed; a fraction only where the
    /// unit has one (cents).
    pub fn parse_money(&self, typed: &str) -> Option<i64> {
        let d = parse_decimal(typed)?;
        if d.is_sign_negative() {
            return None;
        }
        let minor = d.checked_mul(Decimal::from(self.unit_minor()))?;
        if !minor.fract().is_zero() {
            return None;
        }
        minor.to_i64()
    }

    /// Minor units as a plain number in the unit shown, for a form's value (`1000.5`).
    pub fn in_unit(&self, minor: &Decimal) -> String {
        (minor / Decimal::from(self.unit_minor().max(1)))
            .normalize()
            .to_string()
    }

    /// A number typed into a form in the unit shown, as minor units (decimal; rates such
    /// as a point's value may be fractions of a rial).
    pub fn parse_in_unit(&self, typed: &str) -> Option<Decimal> {
        parse_decimal(typed)?.checked_mul(Decimal::from(self.unit_minor()))
    }

    /// The month's name in the program's calendar (`month_jalali_9`: آذر, Azar).
    fn month_name(&self, month: u8) -> String {
        let calendar = match self.calendar {
            CalendarKind::Jalali => "jalali",
            CalendarKind::Gregorian => "gregorian",
        };
        self.t(&format!("month_{calendar}_{}", month.clamp(1, 12)))
    }

    /// (year, month, day) of a civil date in the program's calendar.
    pub fn ymd(&self, d: jiff::civil::Date) -> (i32, u8, u8) {
        match self.calendar {
            CalendarKind::Jalali => {
                let j = vafa_core::date::to_jalali(d);
                (j.year, j.month, j.day)
            }
            CalendarKind::Gregorian => (i32::from(d.year()), d.month() as u8, d.day() as u8),
        }
    }

    /// A day: `۱۳ آذر ۱۴۰۵`, `13 Azar 1405`, `4 Dec 2026`.
    pub fn day(&self, d: &jiff::civil::Date) -> String {
        let (y, m, dd) = self.ymd(*d);
        self.digits(&format!("{dd} {} {y}", self.month_name(m)))
    }

    /// A moment as a local day and time: `۱۳ آذر ۱۴۰۵، ۱۴:۳۰`.
    pub fn at(&self, t: &jiff::Timestamp) -> String {
        let z = t.to_zoned(self.tz.clone());
        let sep = if self.lang == Lang::Fa { "،" } else { "," };
        format!(
            "{}{sep} {}",
            self.day(&z.date()),
            self.digits(&format!("{:02}:{:02}", z.hour(), z.minute()))
        )
    }

    pub fn at_opt(&self, t: &Option<jiff::Timestamp>) -> String {
        t.as_ref().map(|t| self.at(t)).unwrap_or_default()
    }

    /// A short month label for charts: `آذر`, `Azar`, and the year when it is January/Farvardin.
    pub fn month_label(&self, year: i32, month: u8) -> String {
        if month == 1 {
            self.digits(&format!("{} {year}", self.month_name(month)))
        } else {
            self.month_name(month)
        }
    }

    /// A length of time, roughly: `۲ روز`, `۳ ساعت ۱۰ دقیقه`, `45 min`.
    pub fn span(&self, d: &jiff::SignedDuration) -> String {
        let mins = d.as_secs().unsigned_abs() / 60;
        let (days, hours, m) = (mins / 1440, (mins / 60) % 24, mins % 60);
        let n = |v: u64| self.lang.number(i64::try_from(v).unwrap_or(i64::MAX));
        if days > 0 {
            self.tf("span_days_hours", &[("d", n(days)), ("h", n(hours))])
        } else if hours > 0 {
            self.tf("span_hours_minutes", &[("h", n(hours)), ("m", n(m))])
        } else {
            self.tf("span_minutes", &[("m", n(m))])
        }
    }
}

/// A decimal string of minor units (IRR) or of major units with the scale (others).
fn parse_minor(amount: &str, currency: Currency) -> Option<i64> {
    let d: Decimal = amount.trim().parse().ok()?;
    let minor = d.checked_mul(Decimal::from(10i64.pow(currency.scale())))?;
    if !minor.fract().is_zero() {
        return None;
    }
    minor.to_i64()
}

/// A number as people type it: Persian or Arabic-Indic digits, `٫` or `.` for the
/// decimal point, `,` `٬` `_` or spaces between groups of three digits of the whole part
/// (only there: `12,50` is refused, not read as 1250), an optional sign.
pub fn parse_decimal(typed: &str) -> Option<Decimal> {
    // Joiners and marks a Persian keyboard leaves at either end are not part of the number.
    let edges = |c: char| c.is_whitespace() || matches!(c, '\u{200c}' | '\u{200e}' | '\u{200f}');
    let typed = vafa_core::digits::normalize_digits(typed.trim_matches(edges));
    // A sign may stand apart from its digits ("- 5"); U+2212 is the minus Persian keyboards type.
    let (sign, unsigned) = match typed.strip_prefix(['-', '\u{2212}']) {
        Some(rest) => ("-", rest.trim_start_matches(edges)),
        None => ("", typed.strip_prefix('+').unwrap_or(&typed)),
    };
    let s: String = unsigned
        .chars()
        .map(|c| match c {
            '٫' => '.',
            ' ' | '_' | '\u{200c}' => ',',
            c => c,
        })
        .collect();
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let int = vafa_core::money::ungroup(int)?;
    // Digits only: "1e3" is not how anyone types a thousand at a counter.
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let frac_digits = frac.unwrap_or("");
    if !digits(&int) || !digits(frac_digits) || (int.is_empty() && frac_digits.is_empty()) {
        return None;
    }
    let plain = match frac {
        Some(f) => format!("{sign}{int}.{f}"),
        None => format!("{sign}{int}"),
    };
    plain.parse().ok()
}

/// A whole number as people type it (see [`parse_decimal`]).
pub fn parse_count(typed: &str) -> Option<i64> {
    let d = parse_decimal(typed)?;
    if !d.fract().is_zero() {
        return None;
    }
    d.to_i64()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn view(lang: Lang, unit: MoneyUnit) -> View {
        View {
            lang,
            currency: Currency::Irr,
            unit,
            calendar: CalendarKind::Jalali,
            tz: jiff::tz::TimeZone::get("Asia/Tehran").unwrap(),
        }
    }

    #[test]
    fn money_in_toman_and_rial() {
        let fa = view(Lang::Fa, MoneyUnit::Toman);
        assert_eq!(fa.money(&1_250_000), "۱۲۵٬۰۰۰ تومان");
        assert_eq!(
            view(Lang::En, MoneyUnit::Rial).money(&1_250_000),
            "1,250,000 rial"
        );
        assert_eq!(fa.parse_money("۱۲۵٬۰۰۰"), Some(1_250_000));
        assert_eq!(fa.parse_money("125,000"), Some(1_250_000));
        assert_eq!(
            fa.parse_money("12.5"),
            Some(125),
            "half a toman is five rials"
        );
        assert_eq!(fa.parse_money("12.55"), None, "no fractions of a rial");
        assert_eq!(fa.parse_money(""), None);
        assert_eq!(fa.parse_money("-5"), None);
        assert_eq!(fa.money(&-25), "-۲ تومان");
        let usd = View {
            currency: Currency::Usd,
            ..view(Lang::En, MoneyUnit::Toman)
        };
        assert_eq!(usd.money(&-50), "-0.50 USD");
        assert_eq!(usd.money(&1250), "12.50 USD");
        assert_eq!(usd.minor_of("-1.50"), -150);
        assert_eq!(usd.minor_of("0.00"), 0);
        assert_eq!(usd.parse_money("12.5"), Some(1250));
        assert_eq!(usd.parse_money("1.-5"), None);
        assert_eq!(parse_count("۱۰٬۰۰۰"), Some(10_000));
        assert_eq!(parse_count("1.5"), None);
        assert_eq!(parse_count("1 250 000"), Some(1_250_000));
        assert_eq!(parse_count("-۱٬۰۰۰"), Some(-1_000));
        // A comma as a decimal point is refused, not read a hundred times too large.
        assert_eq!(usd.parse_money("12,50"), None);
        assert_eq!(usd.parse_money("1,250.50"), Some(125_050));
        assert_eq!(parse_count("1,,000"), None);
        // What a Persian keyboard leaves around a number, and a sign set apart.
        assert_eq!(parse_count("۱۰۰\u{200c}"), Some(100));
        assert_eq!(parse_count("\u{200f}۱۰۰ "), Some(100));
        assert_eq!(parse_count("- 5"), Some(-5));
        assert_eq!(parse_count("-"), None);
        assert_eq!(parse_count("- ,5"), None);
        assert_eq!(parse_count(",5"), None);
        assert_eq!(parse_count("\u{2212}۲"), Some(-2));
        assert_eq!(parse_count("1e3"), None);
        assert_eq!(parse_decimal("2.5e1"), None);
        assert_eq!(parse_decimal("12.5"), Some(Decimal::new(125, 1)));
        assert_eq!(fa.in_unit(&Decimal::from(10_005)), "1000.5");
    }

    #[test]
    fn jalali_days_in_the_program_zone() {
        let fa = view(Lang::Fa, MoneyUnit::Toman);
        // 2026-12-03T21:00Z is already Friday 13 Azar 1405 in Tehran (UTC+3:30).
        let t: jiff::Timestamp = "2026-12-03T21:00:00Z".parse().unwrap();
        assert_eq!(fa.at(&t), "۱۳ آذر ۱۴۰۵، ۰۰:۳۰");
        let en = view(Lang::En, MoneyUnit::Toman);
        assert_eq!(en.at(&t), "13 Azar 1405, 00:30");
    }

    #[test]
    fn spans_read_naturally() {
        let en = view(Lang::En, MoneyUnit::Toman);
        assert_eq!(en.span(&jiff::SignedDuration::from_mins(45)), "45 min");
        assert_eq!(en.span(&jiff::SignedDuration::from_mins(190)), "3 h 10 min");
        assert_eq!(en.span(&jiff::SignedDuration::from_hours(50)), "2 d 2 h");
    }
}
