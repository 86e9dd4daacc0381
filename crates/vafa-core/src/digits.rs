//! Digits as people type them in Iran: ASCII, Persian (۰–۹) or Arabic-Indic (٠–٩).
//! Everything that validates numbers normalises to ASCII first.

/// Map Persian and Arabic-Indic digits to ASCII; everything else is unchanged.
pub fn normalize_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            _ => c,
        })
        .collect()
}

/// Map ASCII digits to Persian digits, for display in the Persian UI.
pub fn to_persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x06F0 + (c as u32 - '0' as u32)).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_digit_sets_normalise() {
        assert_eq!(normalize_digits("۰۹۱۲"), "0912");
        assert_eq!(normalize_digits("٠٩١٢"), "0912");
        assert_eq!(normalize_digits("a۱b٢3"), "a1b23");
        assert_eq!(to_persian_digits("1403/01/01"), "۱۴۰۳/۰۱/۰۱");
        assert_eq!(
            normalize_digits(&to_persian_digits("0123456789")),
            "0123456789"
        );
    }
}
