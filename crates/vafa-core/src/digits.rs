//! Digits as people type them in Iran: ASCII, Persian (۰–۹) or Arabic-Indic (٠–٩),
//! depending on keyboard layout and phone. Everything that validates numbers normalises
//! to ASCII first, so a value typed in any of the three is the same value.

/// Map Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669) digits to ASCII;
/// everything else, including other scripts' digits, is unchanged (and so later fails
/// validation rather than being guessed at).
pub fn normalize_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{06F0}'..='\u{06F9}' => shift(c, 0x06F0, '0'),
            '\u{0660}'..='\u{0669}' => shift(c, 0x0660, '0'),
            _ => c,
        })
        .collect()
}

/// Map ASCII digits to Persian digits, for display in the Persian UI.
pub fn to_persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => shift(c, '0' as u32, '\u{06F0}'),
            _ => c,
        })
        .collect()
}

/// `c` moved from the digit block starting at `from` to the one starting at `to`.
/// Callers only pass digits of the `from` block, so the result is always a valid char;
/// the fallback keeps this function total without an `unwrap`.
fn shift(c: char, from: u32, to: char) -> char {
    char::from_u32(to as u32 + (c as u32 - from)).unwrap_or(c)
}

/// The characters of a number as typed, ready to check: digits normalised to ASCII and
/// whitespace, invisible bidi/zero-width marks (pasted along from right-to-left text)
/// and the given `separators` removed. Anything else is kept, so validation sees it.
pub(crate) fn compact_number(s: &str, separators: &[char]) -> String {
    normalize_digits(s)
        .chars()
        .filter(|&c| {
            !(c.is_whitespace() || crate::text::is_invisible_mark(c) || separators.contains(&c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn all_three_digit_sets_normalise() {
        assert_eq!(normalize_digits("۰۱۲۳۴۵۶۷۸۹"), "0123456789");
        assert_eq!(normalize_digits("٠١٢٣٤٥٦٧٨٩"), "0123456789");
        assert_eq!(normalize_digits("a۱b٢3"), "a1b23");
        assert_eq!(normalize_digits(""), "");
    }

    #[test]
    fn other_characters_are_left_alone() {
        // Fullwidth and Devanagari digits are not ours to guess at.
        assert_eq!(normalize_digits("１२ x/-"), "１२ x/-");
        // The Arabic thousands and decimal separators are not digits.
        assert_eq!(normalize_digits("۱۲٬۵۰۰٫۵"), "12٬500٫5");
    }

    #[test]
    fn persian_display_digits() {
        assert_eq!(to_persian_digits("0123456789"), "۰۱۲۳۴۵۶۷۸۹");
        assert_eq!(to_persian_digits("1403/01/01"), "۱۴۰۳/۰۱/۰۱");
        assert_eq!(to_persian_digits("٠ abc"), "٠ abc");
    }

    #[test]
    fn compact_number_drops_spacing_and_marks_only() {
        assert_eq!(
            compact_number("\u{200F}۰۹۱۲-۱۲۳\u{00A0}۴۵۶۷\t", &['-']),
            "09121234567"
        );
        assert_eq!(compact_number("12(3)", &['-']), "12(3)");
    }

    proptest! {
        #[test]
        fn persian_digits_round_trip(s in "[0-9a-z /-]{0,20}") {
            prop_assert_eq!(normalize_digits(&to_persian_digits(&s)), s);
        }

        #[test]
        fn normalising_is_idempotent(s in "\\PC{0,20}") {
            let once = normalize_digits(&s);
            prop_assert_eq!(normalize_digits(&once), once.clone());
            prop_assert_eq!(once.chars().count(), s.chars().count());
        }
    }
}
