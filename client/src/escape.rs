//! Makes peer-controlled text safe to print on a terminal.
//!
//! Everything another user or the server wrote (names, messages, reasons,
//! notices) passes through here before it reaches stdout or stderr, so a
//! hostile peer can never move the cursor, clear the screen, change the
//! window title or reorder what the user sees. Characters that a terminal
//! would act on or that would hide or reorder text are replaced by visible
//! escapes: `\x1b` for ASCII controls, `\u{202e}` for the rest. Tab is kept;
//! newline is the caller's to handle (see [`lines`]).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as itself.
///
/// That is: C0 and C1 controls and DEL (`char::is_control`), the line and
/// paragraph separators, the format characters (Unicode category Cf: bidi
/// embeddings, overrides and isolates, zero-width characters, soft hyphen,
/// byte-order mark, tag characters, …) and the fillers that render as
/// nothing (Hangul fillers, Khmer inherent vowels), which can make text look
/// like something it is not. Zero-width joiners are escaped too, at the cost
/// of showing some emoji sequences as their parts.
pub fn is_unsafe(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFEFF
            | 0xFFA0
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE007F
    )
}

/// `text` with every unsafe character (tab excepted, and newline too when
/// `keep_newline`) replaced by a visible escape.
pub fn escape(text: &str, keep_newline: bool) -> Cow<'_, str> {
    let keep = |c: char| c == '\t' || (keep_newline && c == '\n');
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) || keep(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// A one-line rendering of `text`: every unsafe character escaped,
/// newline included (as `\x0a`). For names, reasons and other short fields.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// The lines of a multi-line `text`, each escaped. A message's first line
/// goes after its prefix and the others are indented by the caller, so no
/// line of it can pass for a notice or another user's message.
pub fn lines(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    text.split('\n').map(|line| escape(line, false))
}

/// `json` (the output of `serde_json`) with every unsafe character that
/// `serde_json` leaves as it is (DEL, C1 controls, format characters) written
/// as a JSON `\u` escape. The value is unchanged: these characters can only
/// occur inside strings, where `\uXXXX` means the same.
pub fn json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            escape("hello, wörld 👋\tok", false),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn terminal_controls_are_made_visible() {
        assert_eq!(escape("\x1b[2J\x07", false), "\\x1b[2J\\x07");
        assert_eq!(escape("a\rb\x7f", false), "a\\x0db\\x7f");
        assert_eq!(escape("\u{9b}31m", false), "\\u{9b}31m");
        assert_eq!(escape("a\nb", false), "a\\x0ab");
        assert_eq!(escape("a\nb", true), "a\nb");
        assert_eq!(escape("a\tb", false), "a\tb");
    }

    #[test]
    fn bidi_and_invisible_characters_are_made_visible() {
        assert_eq!(escape("abc\u{202e}fed", false), "abc\\u{202e}fed");
        assert_eq!(escape("\u{2066}x\u{2069}", false), "\\u{2066}x\\u{2069}");
        assert_eq!(escape("a\u{200b}b", false), "a\\u{200b}b");
        assert_eq!(escape("\u{feff}\u{ad}", false), "\\u{feff}\\u{ad}");
        assert_eq!(escape("\u{2028}", false), "\\u{2028}");
        assert_eq!(escape("\u{e0041}", false), "\\u{e0041}");
    }

    #[test]
    fn every_c0_c1_and_bidi_character_is_unsafe() {
        for c in (0u32..0x20)
            .chain(0x7f..0xa0)
            .chain(0x202a..=0x202e)
            .chain(0x2066..=0x2069)
        {
            let c = char::from_u32(c).unwrap();
            assert!(is_unsafe(c), "U+{:04X}", u32::from(c));
        }
        for c in ['a', ' ', 'é', '→', '中', '👋', '\u{a0}'] {
            assert!(!is_unsafe(c), "{c}");
        }
    }

    #[test]
    fn lines_escape_each_line() {
        let got: Vec<_> = lines("one\n\x1b]0;title\x07\n").collect();
        assert_eq!(got, ["one", "\\x1b]0;title\\x07", ""]);
    }

    #[test]
    fn json_escapes_what_serde_json_leaves() {
        let raw = serde_json::json!({"text": "a\u{7f}\u{9b}\u{202e}\u{e0041}\x1b"}).to_string();
        let safe = json(&raw);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["text"], "a\u{7f}\u{9b}\u{202e}\u{e0041}\x1b");
        assert!(matches!(json(r#"{"a":"b"}"#), Cow::Borrowed(_)));
    }
}
