//! The admin UI's words and numbers: every string comes from `ui/fa.json` or
//! `ui/en.json`; numbers, money and dates are shaped for the reader (Persian digits and
//! separators, toman or rial, the Jalali or Gregorian calendar in the program's zone).

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

const JALALI_FA: [&str; 12] = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
];
const JALALI_EN: [&str; 12] = [
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
];
const GREGORIAN_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const GREGORIAN_FA: [&str; 12] = [
    "ژانویه",
    "فوریه",
    "مارس",
    "آوریل",
    "مه",
    "ژوئن",
    "ژوئیه",
    "اوت",
    "سپتامبر",
    "اکتبر",
    "نوامبر",
    "دسامبر",
];

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

    /// An amount in minor units, as people read it: `۱۲٬۵۰۰ تومان`. Toman shows whole
    /// toman (rials below one toman are not shown; receipts round the same way).
    pub fn money(&self, minor: &i64) -> String {
        let per = self.unit_minor();
        let shown = if per == 10 || per == 1 {
            self.lang.number(minor / per)
        } else {
            let whole = self.lang.number(minor / per);
            let frac = (minor % per).unsigned_abs();
            let sep = if self.lang == Lang::Fa { "٫" } else { "." };
            format!("{whole}{sep}{}", self.lang.digits(&format!("{frac:02}")))
        };
        format!("{shown} {}", self.unit_name())
    }

    /// A `MoneyDto` amount (a decimal string of minor units for IRR).
    pub fn money_str(&self, amount: &str) -> String {
        match parse_minor(amount, self.currency) {
            Some(m) => self.money(&m),
            None => self.digits(amount),
        }
    }

    /// Typed money (in the unit shown: toman by default) as minor units. Persian or
    /// Latin digits, thousands separators allowed.
    pub fn parse_money(&self, typed: &str) -> Option<i64> {
        let s: String = vafa_core::digits::normalize_digits(typed.trim())
            .chars()
            .filter(|c| !matches!(c, ',' | '٬' | ' ' | '_'))
            .map(|c| if c == '٫' { '.' } else { c })
            .collect();
        if s.is_empty() {
            return None;
        }
        let per = self.unit_minor();
        match s.split_once('.') {
            None => s.parse::<i64>().ok()?.checked_mul(per),
            Some((whole, frac)) if per == 100 && frac.len() <= 2 => {
                let w = whole.parse::<i64>().ok()?.checked_mul(100)?;
                let f = format!("{frac:0<2}").parse::<i64>().ok()?;
                w.checked_add(f)
            }
            Some(_) => None,
        }
    }

    fn month_name(&self, month: u8) -> &'static str {
        let i = usize::from(month.saturating_sub(1)).min(11);
        match (self.calendar, self.lang) {
            (CalendarKind::Jalali, Lang::Fa) => JALALI_FA[i],
            (CalendarKind::Jalali, Lang::En) => JALALI_EN[i],
            (CalendarKind::Gregorian, Lang::Fa) => GREGORIAN_FA[i],
            (CalendarKind::Gregorian, Lang::En) => GREGORIAN_EN[i],
        }
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
            self.month_name(month).to_owned()
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
    let scale = currency.scale();
    if scale == 0 {
        return amount.parse().ok();
    }
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let w: i64 = whole.parse().ok()?;
    let f: i64 = format!("{frac:0<width$}", width = scale as usize)
        .get(..scale as usize)?
        .parse()
        .ok()?;
    w.checked_mul(10i64.pow(scale))?.checked_add(f)
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
        assert_eq!(fa.parse_money("12.5"), None, "no fractions of a toman");
        assert_eq!(fa.parse_money(""), None);
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
