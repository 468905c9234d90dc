//! Makes peer-controlled text safe to print on a terminal: the one escaper
//! that `chat` and `chatctl` share.
//!
//! Everything another user, the server or the daemon wrote (names,
//! messages, reasons, notices, admin answers) passes through here before
//! it reaches stdout or stderr, so a hostile peer can never move the
//! cursor, clear the screen, change the window title or reorder what the
//! user sees. Characters that a terminal would act on or that would hide or
//! reorder text ([`is_unsafe`]) are replaced by visible escapes: `\x1b` for
//! ASCII controls, `\u{202e}` for the rest.
//!
//! Pure functions over `&str`, with no I/O, so they are unit-tested here and
//! the two binaries cannot drift apart:
//!
//! - [`escape`] and [`lines`]: message text, tab kept, newline the caller's;
//! - [`one_line`]: a short field inside a line of its own (tab kept);
//! - [`field`]: a table cell or a value that must stay one tight token
//!   (tab escaped too);
//! - [`json`]: JSON text made terminal-safe without changing its value.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as itself.
///
/// That is: C0 and C1 controls and DEL (`char::is_control`), the line and
/// paragraph separators (U+2028, U+2029), every format character (Unicode
/// category Cf: bidi embeddings, overrides and isolates, zero-width
/// characters, soft hyphen, byte-order mark, the tag characters
/// U+E0000..U+E007F, …) and the fillers that render as nothing (Hangul
/// fillers, Khmer inherent vowels, Mongolian variation selectors), which can
/// make text look like something it is not. Zero-width joiners are escaped
/// too, except by [`escape`] and its kin where one joins two emoji (👨‍👩‍👧):
/// there it hides nothing, and the sequence shows whole.
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

/// Whether `c` is an emoji, or a part that ends one (a skin tone, VS16),
/// for the zero-width joiner between two of them. A broad reading of
/// Unicode's `Extended_Pictographic`: the joiner it lets through sits
/// between two visible pictographs either way.
fn is_emoji_part(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139
            | 0x2194..=0x21FF
            | 0x2300..=0x23FF
            | 0x2600..=0x27BF
            | 0x2B00..=0x2BFF
            | 0x3030 | 0x303D | 0x3297 | 0x3299
            | 0xFE0F
            | 0x1F000..=0x1FAFF
    )
}

/// Whether the char at `i` of `chars` is a zero-width joiner between two
/// emoji (👨‍👩‍👧), which hides nothing and is kept.
fn is_emoji_joiner(chars: &[char], i: usize) -> bool {
    chars[i] == '\u{200D}'
        && i > 0
        && is_emoji_part(chars[i - 1])
        && chars
            .get(i + 1)
            .is_some_and(|&c| is_emoji_part(c) && c != '\u{FE0F}')
}

/// `text` with every unsafe character replaced by a visible escape, except
/// those `keep` lets through as themselves and the joiners of emoji
/// sequences.
fn escape_except(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    if chars
        .iter()
        .enumerate()
        .all(|(i, &c)| !is_unsafe(c) || keep(c) || is_emoji_joiner(&chars, i))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        if !is_unsafe(c) || keep(c) || is_emoji_joiner(&chars, i) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// `text` with every unsafe character (tab excepted, and newline too when
/// `keep_newline`) replaced by a visible escape.
pub fn escape(text: &str, keep_newline: bool) -> Cow<'_, str> {
    escape_except(text, |c| c == '\t' || (keep_newline && c == '\n'))
}

/// A one-line rendering of `text`: every unsafe character escaped,
/// newline included (as `\x0a`); tab is kept. For names, reasons and other
/// short fields in a line of their own.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` with every unsafe character escaped, tab included: for table
/// cells and `key: value` lines, where a tab would break the alignment.
pub fn field(text: &str) -> Cow<'_, str> {
    escape_except(text, |_| false)
}

/// The lines of a multi-line `text`, each escaped. A message's first line
/// goes after its prefix and the others are indented by the caller, so no
/// line of it can pass for a notice or another user's message.
pub fn lines(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    text.split('\n').map(|line| escape(line, false))
}

/// `json`, a valid JSON text (as `serde_json` writes it or has just
/// parsed it), made terminal-safe with its value unchanged: every unsafe
/// character that a JSON string may hold raw (DEL, C1 controls, format
/// characters, U+2028/U+2029, tags) is written as a `\uXXXX` escape (two
/// for a character beyond the BMP), and the whitespace between tokens
/// (tab, newline, carriage return, the only controls valid JSON has
/// outside strings, and never raw inside one) becomes a space, so the text
/// stays on one line.
///
/// Text that is not valid JSON may not keep its meaning: validate first.
pub fn json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if matches!(c, '\t' | '\n' | '\r') {
            out.push(' ');
        } else if is_unsafe(c) {
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

    /// Unicode's format characters (category Cf) as of Unicode 15.1.
    const FORMAT_CHARACTERS: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];

    /// Every character the escaper must catch.
    fn all_unsafe() -> impl Iterator<Item = char> {
        (0u32..0x20)
            .chain(0x7f..0xa0)
            .chain([0x2028, 0x2029])
            .chain(FORMAT_CHARACTERS.iter().flat_map(|&(a, b)| a..=b))
            .chain(0xE0000..=0xE007F)
            .map(|c| char::from_u32(c).unwrap())
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            escape("hello, wörld 👋\tok", false),
            Cow::Borrowed(_)
        ));
        assert!(matches!(field("ünïcode → 中"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_controls_are_made_visible() {
        assert_eq!(escape("\x1b[2J\x07", false), "\\x1b[2J\\x07");
        assert_eq!(escape("a\rb\x7f", false), "a\\x0db\\x7f");
        assert_eq!(escape("\u{9b}31m", false), "\\u{9b}31m");
        assert_eq!(escape("a\nb", false), "a\\x0ab");
        assert_eq!(escape("a\nb", true), "a\nb");
        assert_eq!(escape("a\tb", false), "a\tb");
        assert_eq!(one_line("a\nb\tc"), "a\\x0ab\tc");
        assert_eq!(field("a\nb\tc\u{1b}"), "a\\x0ab\\x09c\\x1b");
    }

    #[test]
    fn bidi_and_invisible_characters_are_made_visible() {
        assert_eq!(escape("abc\u{202e}fed", false), "abc\\u{202e}fed");
        assert_eq!(escape("\u{2066}x\u{2069}", false), "\\u{2066}x\\u{2069}");
        assert_eq!(escape("a\u{200b}b", false), "a\\u{200b}b");
        assert_eq!(escape("\u{feff}\u{ad}", false), "\\u{feff}\\u{ad}");
        assert_eq!(escape("\u{2028}\u{2029}", true), "\\u{2028}\\u{2029}");
        assert_eq!(escape("\u{e0041}", false), "\\u{e0041}");
        assert_eq!(field("\u{e0001}\u{e007f}"), "\\u{e0001}\\u{e007f}");
    }

    #[test]
    fn every_control_separator_format_and_tag_character_is_unsafe() {
        for c in all_unsafe() {
            assert!(is_unsafe(c), "U+{:04X}", u32::from(c));
            let shown = field(&c.to_string()).into_owned();
            assert!(!shown.chars().any(is_unsafe), "U+{:04X}", u32::from(c));
            assert!(shown.starts_with('\\'), "U+{:04X}: {shown}", u32::from(c));
        }
        for c in ['a', ' ', 'é', '→', '中', '👋', '\u{a0}', '\u{3000}'] {
            assert!(!is_unsafe(c), "{c}");
        }
    }

    #[test]
    fn a_joiner_between_emoji_is_kept_and_any_other_escaped() {
        let family = "👨\u{200d}👩\u{200d}👧";
        assert!(matches!(one_line(family), Cow::Borrowed(_)));
        let rainbow = "🏳\u{fe0f}\u{200d}🌈 and 👍🏽\u{200d}🔥";
        assert_eq!(one_line(rainbow), rainbow);
        assert_eq!(one_line("a\u{200d}b"), "a\\u{200d}b");
        assert_eq!(one_line("👨\u{200d}"), "👨\\u{200d}");
        assert_eq!(one_line("\u{200d}👩"), "\\u{200d}👩");
        assert_eq!(one_line("👨\u{200d}\u{200d}👩"), "👨\\u{200d}\\u{200d}👩");
        assert_eq!(field(family), family);
    }

    #[test]
    fn lines_escape_each_line() {
        let got: Vec<_> = lines("one\n\x1b]0;title\x07\n").collect();
        assert_eq!(got, ["one", "\\x1b]0;title\\x07", ""]);
    }

    #[test]
    fn json_escapes_what_serde_json_leaves() {
        let text: String = "a\u{7f}\u{9b}\u{202e}\u{2028}\u{e0041}\x1b\n"
            .chars()
            .chain(all_unsafe())
            .collect();
        let raw = serde_json::json!({"text": text}).to_string();
        let safe = json(&raw);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["text"], text.as_str());
        assert!(matches!(json(r#"{"a":"b"}"#), Cow::Borrowed(_)));
    }

    #[test]
    fn json_whitespace_becomes_spaces_on_one_line() {
        let pretty = serde_json::to_string_pretty(&serde_json::json!({
            "name": "a\u{202e}b",
            "list": [1, 2],
        }))
        .unwrap();
        let safe = json(&pretty);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert_eq!(safe.lines().count(), 1, "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["name"], "a\u{202e}b");
        assert_eq!(back["list"], serde_json::json!([1, 2]));
    }
}
