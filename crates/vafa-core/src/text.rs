//! Persian text normalisation: Arabic ي/ك typed on Arabic keyboards must find the
//! Persian ی/ک, and the zero-width non-joiner must not split a search.

const ZERO_WIDTH: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{FEFF}',
];

fn persian_letter(c: char) -> char {
    match c {
        '\u{064A}' | '\u{0649}' => '\u{06CC}',
        '\u{0643}' => '\u{06A9}',
        _ => c,
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key text is compared by in search and de-duplication.
pub fn search_key(s: &str) -> String {
    let mapped: String = crate::digits::normalize_digits(s)
        .chars()
        .filter(|c| !ZERO_WIDTH.contains(c))
        .map(persian_letter)
        .flat_map(char::to_lowercase)
        .collect();
    collapse_whitespace(&mapped)
}

/// Text as stored for display: trimmed, single spaces, Persian letter forms; ZWNJ kept.
pub fn clean_text(s: &str) -> String {
    let mapped: String = s.chars().map(persian_letter).collect();
    collapse_whitespace(&mapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_forms_and_zwnj_do_not_split_a_search() {
        assert_eq!(search_key("علي"), search_key("علی"));
        assert_eq!(search_key("كريم"), "کریم");
        assert_eq!(search_key("می\u{200C}خواهم"), "میخواهم");
        assert_eq!(search_key("  ALI   Rezaei "), "ali rezaei");
        assert_eq!(search_key("۱۲۳"), "123");
    }

    #[test]
    fn clean_text_keeps_zwnj() {
        assert_eq!(clean_text("  می\u{200C}خواهم  علي "), "می\u{200C}خواهم علی");
    }
}
