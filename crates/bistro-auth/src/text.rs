//! Text that people type and others see: display names, menu item names and
//! descriptions, review texts, rejection reasons, delivery addresses. One
//! rule for all of them, so no entry point forgets a case.
//!
//! Besides control characters, the rule refuses characters that change how
//! the text around them looks without being seen themselves:
//!
//! - bidirectional controls: embeddings, overrides and isolates
//!   (U+202A–U+202E, U+2066–U+2069) and the direction marks (U+200E, U+200F,
//!   U+061C), which can make a name read backwards or disguise what follows it;
//! - zero-width and invisible characters (U+200B–U+200D, U+2060, U+FEFF, the
//!   soft hyphen U+00AD), which make two names that look the same compare
//!   different;
//! - line and paragraph separators (U+2028, U+2029), which break a line
//!   where `\n` is not allowed;
//! - tag characters (U+E0000–U+E007F), invisible letters that can smuggle
//!   text past a reader (and instructions past a language model).
//!
//! Emoji sequences joined with U+200D, and the subdivision flags written with
//! tag characters, are refused with them: the price of a rule with no
//! exceptions to get wrong.

/// Most characters in a display name.
pub const MAX_DISPLAY_NAME_CHARS: usize = 120;

/// Whether `c` may not appear in a name or description.
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200B}'..='\u{200F}'
                | '\u{061C}'
                | '\u{00AD}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{2060}'
                | '\u{FEFF}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Whether a one-line text (a name) is free of forbidden characters.
pub fn is_clean_line(text: &str) -> bool {
    !text.chars().any(is_forbidden)
}

/// Whether a longer text (a description) is free of forbidden characters;
/// line breaks are allowed there.
pub fn is_clean_text(text: &str) -> bool {
    !text.chars().any(|c| c != '\n' && is_forbidden(c))
}

/// A display name, trimmed: 1 to [`MAX_DISPLAY_NAME_CHARS`] characters, one
/// line, none forbidden. `None` when it breaks the rule.
pub fn display_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let chars = name.chars().count();
    (chars > 0 && chars <= MAX_DISPLAY_NAME_CHARS && is_clean_line(name)).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_overrides_zero_width_and_control_characters_are_refused() {
        let marks_separators_and_tags = [
            0x200E, 0x200F, 0x061C, 0x00AD, 0x2028, 0x2029, 0xE0000, 0xE0001, 0xE0041, 0xE007F,
        ]
        .map(|code| char::from_u32(code).expect("a scalar value"));
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
            '\0', '\t', '\n', '\r', '\u{1B}', '\u{7F}', '\u{85}', '\u{9F}',
        ]
        .into_iter()
        .chain(marks_separators_and_tags)
        {
            assert!(is_forbidden(c), "U+{:04X}", c as u32);
            let name = format!("Ada{c}Lovelace");
            assert!(!is_clean_line(&name), "U+{:04X}", c as u32);
            assert_eq!(display_name(&name), None, "U+{:04X}", c as u32);
        }
        // Right-to-left scripts, accents, emoji and the marks next to the
        // refused ranges are fine.
        for name in [
            "Ada Lovelace",
            "Zoë Ç. Øre",
            "محمد",
            "שלום",
            "李小龍",
            "Chef 🍜",
            "A\u{2070}",
            "A\u{2027}B",
            "A\u{202F}B",
            "A\u{061B}B",
            "A\u{061D}B",
            "A\u{00AC}\u{00AE}B",
            "A\u{E0080}B",
            "A\u{DFFFF}B",
        ] {
            assert!(is_clean_line(name), "{name}");
            assert_eq!(display_name(name).as_deref(), Some(name));
        }
    }

    #[test]
    fn descriptions_may_break_lines_and_nothing_else() {
        assert!(is_clean_text("Slow-cooked.\nServed with rice."));
        assert!(!is_clean_text("Slow-cooked.\r\nServed with rice."));
        assert!(!is_clean_text("Served with \u{202E}ecir"));
        assert!(!is_clean_text("Spicy\u{200B}"));
        // A line separator is not a line break here: only `\n` is.
        assert!(!is_clean_text("Slow-cooked.\u{2028}Served with rice."));
        assert!(!is_clean_text("Slow-cooked.\u{2029}Served with rice."));
        assert!(!is_clean_text("Chili\u{00AD}con\u{00AD}carne"));
        assert!(!is_clean_text(
            "\u{E0001}\u{E0069}\u{E0067}\u{E006E}ignore this"
        ));
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(display_name("  Ada  ").as_deref(), Some("Ada"));
        assert_eq!(display_name("   "), None);
        assert_eq!(display_name(""), None);
        // A zero-width space is not white space: it is refused, not trimmed.
        assert_eq!(display_name("\u{200B}"), None);
        assert!(display_name(&"é".repeat(MAX_DISPLAY_NAME_CHARS)).is_some());
        assert_eq!(display_name(&"é".repeat(MAX_DISPLAY_NAME_CHARS + 1)), None);
    }
}
