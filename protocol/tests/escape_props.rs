//! Property tests of the terminal escaper (`chat_protocol::escape`): what
//! its documentation promises, over generated text that mixes ordinary
//! characters with every kind the escaper must catch.
//!
//! The characters that must not reach a terminal are listed here again,
//! from the Unicode tables rather than from `escape::is_unsafe`, so that
//! the escaper is checked against the definition, not against itself.

use chat_protocol::escape::{escape, field, is_unsafe, json, lines, one_line};
use proptest::prelude::*;

/// Unicode's format characters (general category Cf), Unicode 15.1 / 16.0.
const FORMAT: &[(u32, u32)] = &[
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

const ZWJ: char = '\u{200D}';

/// Whether `c` must never reach a terminal as itself: a C0 or C1 control,
/// DEL, a format (Cf) character (bidi controls among them), U+2028/2029 or
/// a tag character.
fn forbidden(c: char) -> bool {
    let u = u32::from(c);
    u < 0x20
        || (0x7F..=0x9F).contains(&u)
        || u == 0x2028
        || u == 0x2029
        || (0xE0000..=0xE007F).contains(&u)
        || FORMAT.iter().any(|&(a, b)| (a..=b).contains(&u))
}

/// Emoji and the parts that end one, as the escaper reads them between
/// two halves of a zero-width-joiner sequence.
fn emoji() -> impl Strategy<Value = char> {
    prop_oneof![
        (0x1F300u32..=0x1F64F).prop_map(|u| char::from_u32(u).unwrap()),
        Just('\u{2764}'),
        Just('\u{FE0F}'),
        Just('\u{1F3FD}'),
    ]
}

/// A character from the ranges the escaper must care about, or any other.
fn interesting_char() -> impl Strategy<Value = char> {
    let table = FORMAT
        .iter()
        .flat_map(|&(a, b)| a..=b)
        .filter_map(char::from_u32)
        .collect::<Vec<_>>();
    prop_oneof![
        4 => (0x20u32..0x7F).prop_map(|u| char::from_u32(u).unwrap()),
        2 => (0u32..0x20).prop_map(|u| char::from_u32(u).unwrap()),
        2 => (0x7Fu32..=0x9F).prop_map(|u| char::from_u32(u).unwrap()),
        2 => proptest::sample::select(table),
        1 => (0xE0000u32..=0xE007F).prop_map(|u| char::from_u32(u).unwrap()),
        1 => prop_oneof![Just('\u{2028}'), Just('\u{2029}'), Just(ZWJ), Just('\\')],
        2 => emoji(),
        2 => any::<char>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(interesting_char(), 0..48).prop_map(|v| v.into_iter().collect())
}

/// Text with no character that must be escaped: the escaper leaves it be.
fn printable() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            (0x20u32..0x7F).prop_map(|u| char::from_u32(u).unwrap()),
            any::<char>(),
            emoji(),
            Just('\t'),
        ]
        .prop_filter("printable", |&c| {
            c == '\t' || !forbidden(c) && !is_unsafe(c)
        }),
        0..48,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// Whether the char at `i` is a zero-width joiner between two emoji, the
/// one format character the escaper keeps (so that 👨‍👩‍👧 shows whole).
fn joins_emoji(chars: &[char], i: usize) -> bool {
    // Extended_Pictographic, broadly (the escaper's documented reading),
    // and VS16 that ends an emoji.
    let part = |c: char| {
        matches!(
            u32::from(c),
            0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139
                | 0x2194..=0x21FF
                | 0x2300..=0x23FF
                | 0x2600..=0x27BF
                | 0x2B00..=0x2BFF
                | 0x3030 | 0x303D | 0x3297 | 0x3299
                | 0xFE0F
                | 0x1F000..=0x1FAFF
        )
    };
    chars[i] == ZWJ
        && i > 0
        && part(chars[i - 1])
        && chars
            .get(i + 1)
            .is_some_and(|&c| part(c) && c != '\u{FE0F}')
}

/// Every character of `out` that must not reach a terminal is one that
/// `allowed` lets through, or a joiner between two emoji.
fn assert_clean(out: &str, allowed: impl Fn(char) -> bool) -> Result<(), TestCaseError> {
    let chars: Vec<char> = out.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        prop_assert!(
            !forbidden(c) || allowed(c) || joins_emoji(&chars, i),
            "U+{:04X} reached the output: {out:?}",
            u32::from(c)
        );
    }
    Ok(())
}

/// Reads back an escaped text that had no backslash of its own: every
/// `\xNN` and `\u{…}` becomes its character again.
fn unescape(out: &str) -> Option<String> {
    let mut back = String::new();
    let mut rest = out;
    while let Some(at) = rest.find('\\') {
        back.push_str(&rest[..at]);
        rest = &rest[at..];
        let (code, len) = if let Some(hex) = rest.strip_prefix("\\x") {
            (u32::from_str_radix(hex.get(..2)?, 16).ok()?, 4)
        } else {
            let body = rest.strip_prefix("\\u{")?;
            let end = body.find('}')?;
            (u32::from_str_radix(&body[..end], 16).ok()?, 4 + end)
        };
        back.push(char::from_u32(code)?);
        rest = &rest[len..];
    }
    back.push_str(rest);
    Some(back)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_output_holds_a_control_format_separator_or_tag(s in text()) {
        assert_clean(&escape(&s, false), |c| c == '\t')?;
        assert_clean(&escape(&s, true), |c| c == '\t' || c == '\n')?;
        assert_clean(&one_line(&s), |c| c == '\t')?;
        assert_clean(&field(&s), |_| false)?;
        for line in lines(&s) {
            assert_clean(&line, |c| c == '\t')?;
        }
        prop_assert!(!one_line(&s).contains('\n'));
        prop_assert!(!field(&s).contains(['\n', '\t']));
    }

    #[test]
    fn printable_input_passes_unchanged(s in printable()) {
        prop_assert_eq!(escape(&s, false), s.as_str());
        prop_assert_eq!(escape(&s, true), s.as_str());
        prop_assert_eq!(one_line(&s), s.as_str());
        let spaced = s.replace('\t', " ");
        prop_assert_eq!(field(&spaced), spaced.as_str());
        prop_assert_eq!(json(&spaced), spaced.as_str());
        prop_assert_eq!(lines(&s).count(), 1);
    }

    #[test]
    fn escapes_are_visible_and_lose_nothing(s in text()) {
        // Without a backslash of its own, the text can be read back from
        // what the escaper printed: nothing dropped, reordered or merged.
        let s = s.replace('\\', "/");
        for out in [escape(&s, false), escape(&s, true), field(&s)] {
            let back = unescape(&out);
            prop_assert_eq!(back.as_deref(), Some(s.as_str()), "{:?}", out);
        }
    }

    #[test]
    fn escaping_twice_changes_nothing_more(s in text()) {
        let once = escape(&s, false).into_owned();
        prop_assert_eq!(escape(&once, false), once.as_str());
        let once = field(&s).into_owned();
        prop_assert_eq!(field(&once), once.as_str());
    }

    #[test]
    fn lines_are_the_escaped_text_split_at_newlines(s in text()) {
        let joined: Vec<String> = lines(&s).map(|l| l.into_owned()).collect();
        prop_assert_eq!(joined.len(), s.split('\n').count());
        prop_assert_eq!(joined.join("\n"), escape(&s, true).into_owned());
    }

    #[test]
    fn json_is_safe_on_one_line_and_keeps_its_value(
        s in text(),
        k in text(),
        pretty in any::<bool>(),
    ) {
        let mut map = serde_json::Map::new();
        map.insert("text".into(), s.clone().into());
        map.insert(k, serde_json::json!([s, 1, null]));
        let value = serde_json::Value::Object(map);
        let raw = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let safe = json(&raw);
        assert_clean(&safe, |_| false)?;
        prop_assert!(!safe.contains(['\n', '\t', '\r']));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        prop_assert_eq!(back, value);
    }

    #[test]
    fn is_unsafe_covers_the_definition(c in interesting_char()) {
        if forbidden(c) {
            prop_assert!(is_unsafe(c), "U+{:04X}", u32::from(c));
        }
    }
}
