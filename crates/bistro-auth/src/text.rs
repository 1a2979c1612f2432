//! Text that people type and others see: display names, menu item names and
//! descriptions. One rule for all of them, so no entry point forgets a case.
//!
//! Besides control characters, the rule refuses characters that change how
//! the text around them looks without being seen themselves: bidirectional
//! embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which
//! can make a name read backwards or disguise what follows it, and
//! zero-width characters (U+200B–U+200D, U+2060, U+FEFF), which make two
//! names that look the same compare different. Emoji sequences joined with
//! U+200D are refused with them.

/// Most characters in a display name.
pub const MAX_DISPLAY_NAME_CHARS: usize = 120;

/// Whether `c` may not appear in a name or description.
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'
                | '\u{FEFF}'
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
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
            '\0', '\t', '\n', '\r', '\u{1B}', '\u{7F}', '\u{85}', '\u{9F}',
        ] {
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
            "A\u{200E}B",
            "A\u{2070}",
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
