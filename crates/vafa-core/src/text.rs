//! Persian text normalisation. The same name arrives in several spellings: Arabic
//! keyboards type ي/ك where Persian uses ی/ک, some people use the zero-width non-joiner
//! (ZWNJ) in «می‌خواهم» and some do not, and text pasted from right-to-left apps carries
//! invisible bidi marks. Search and de-duplication must see through all of that; stored
//! display text keeps the ZWNJ because it is correct Persian typography.

/// Invisible characters that change nothing a reader sees in a name or a number:
/// zero-width space/non-joiner/joiner, LRM/RLM, the Arabic letter mark, bidi
/// embeddings, overrides and isolates, the word joiner and the byte-order mark.
const INVISIBLE_MARKS: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{202A}', '\u{202B}',
    '\u{202C}', '\u{202D}', '\u{202E}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    '\u{FEFF}',
];

/// Whether `c` is one of the invisible zero-width or bidi marks (ZWNJ included).
pub(crate) fn is_invisible_mark(c: char) -> bool {
    INVISIBLE_MARKS.contains(&c)
}

/// Arabic yeh (ي), alef maksura (ى) and kaf (ك) to the Persian ی and ک. Persian
/// orthography has only the Persian forms, so the mapping is safe for display too.
fn persian_letter(c: char) -> char {
    match c {
        '\u{064A}' | '\u{0649}' => '\u{06CC}',
        '\u{0643}' => '\u{06A9}',
        _ => c,
    }
}

/// Trim and turn every run of Unicode whitespace (tabs, newlines, NBSP…) into one space.
fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key text is compared by in search and de-duplication: ASCII digits, Persian
/// letter forms, no invisible marks (so «می‌خواهم» and «میخواهم» meet), lowercase,
/// single spaces, trimmed.
///
/// Keys are stored next to customers, so changing this function means recomputing them.
pub fn search_key(s: &str) -> String {
    let mapped: String = crate::digits::normalize_digits(s)
        .chars()
        .filter(|&c| !is_invisible_mark(c))
        .map(persian_letter)
        .flat_map(char::to_lowercase)
        .collect();
    collapse_whitespace(&mapped)
}

/// Text as stored for display: trimmed, single spaces, Persian letter forms; ZWNJ and
/// the digits the person typed are kept (display converts digits per locale).
pub fn clean_text(s: &str) -> String {
    let mapped: String = s.chars().map(persian_letter).collect();
    collapse_whitespace(&mapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arabic_forms_and_zwnj_do_not_split_a_search() {
        assert_eq!(search_key("علي"), search_key("علی"));
        assert_eq!(search_key("موسى"), "موسی");
        assert_eq!(search_key("كريم"), "کریم");
        assert_eq!(search_key("می\u{200C}خواهم"), "میخواهم");
        assert_eq!(search_key("می\u{200C}خواهم"), search_key("میخواهم"));
    }

    #[test]
    fn search_key_folds_digits_case_spacing_and_marks() {
        assert_eq!(search_key("  ALI   Rezaei "), "ali rezaei");
        assert_eq!(search_key("۱۲۳ ٤٥٦"), "123 456");
        assert_eq!(search_key("a\tb\nc\u{00A0}d"), "a b c d");
        assert_eq!(search_key("\u{2067}رضا\u{2069}\u{200F} \u{FEFF}"), "رضا");
        assert_eq!(search_key(""), "");
        assert_eq!(search_key(" \u{200C} "), "");
    }

    #[test]
    fn clean_text_keeps_zwnj_and_digits() {
        assert_eq!(clean_text("  می\u{200C}خواهم  علي "), "می\u{200C}خواهم علی");
        assert_eq!(clean_text("كوچه ۱۲\n\nپلاک ٣"), "کوچه ۱۲ پلاک ٣");
        assert_eq!(clean_text("Ali REZAEI"), "Ali REZAEI");
        assert_eq!(clean_text("   "), "");
    }

    /// Persian, Arabic and Latin letters, all digit sets, spacing and invisible marks.
    fn messy_text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9۰-۹٠-٩یيىکكابپتمنو \t\u{200C}\u{200F}\u{2068}\u{2069}]{0,24}"
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent(s in messy_text()) {
            let key = search_key(&s);
            prop_assert_eq!(search_key(&key), key.clone());
            let clean = clean_text(&s);
            prop_assert_eq!(clean_text(&clean), clean.clone());
            // Cleaning for display never changes what a search finds.
            prop_assert_eq!(search_key(&clean), key);
        }

        #[test]
        fn keys_have_no_arabic_forms_marks_or_loose_spaces(s in messy_text()) {
            let key = search_key(&s);
            let arabic_forms = ['\u{064A}', '\u{0649}', '\u{0643}'];
            prop_assert!(!key.contains(arabic_forms));
            prop_assert!(!key.chars().any(is_invisible_mark));
            prop_assert!(!key.contains("  ") && key.trim() == key);
        }
    }
}
