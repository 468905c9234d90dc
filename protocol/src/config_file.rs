//! Where in a configuration file a problem is, said the one way `chatd`
//! and `chat` both say it: `FILE line N: problem`. Plain text in, text
//! out: each program reads its own file.

use std::path::Path;

/// The line (1-based) that byte `offset` of `text` is on (a parser's span).
pub fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// `FILE line N`, or `FILE` where no line is known.
pub fn place(origin: &Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{} line {line}", origin.display()),
        None => origin.display().to_string(),
    }
}

/// `FILE line N: problem`, or `FILE: problem` where no line is known.
pub fn located(origin: &Path, line: Option<usize>, problem: &str) -> String {
    format!("{}: {problem}", place(origin, line))
}

/// The line (1-based) where `key` is set (`key = …` or `"key" = …`) in
/// the table `table` (`profile.work`; its last part may be quoted), or at
/// the top level before any table when `table` is `None`.
pub fn key_line(text: &str, key: &str, table: Option<&str>) -> Option<usize> {
    let quoted_key = format!("\"{key}\"");
    let quoted_table = table.map(|t| match t.rsplit_once('.') {
        Some((head, last)) => format!("{head}.\"{last}\""),
        None => format!("\"{t}\""),
    });
    let mut in_table = table.is_none();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            let header = line.trim_start_matches('[').trim_end_matches(']').trim();
            in_table = table.is_some_and(|t| header == t)
                || quoted_table.as_deref().is_some_and(|t| header == t);
            continue;
        }
        let rest = line
            .strip_prefix(key)
            .or_else(|| line.strip_prefix(quoted_key.as_str()));
        if in_table && rest.is_some_and(|rest| rest.trim_start().starts_with('=')) {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_placed_by_file_and_line() {
        let text = "a = 1\nb = 2\n[profile.work]\nb = 3\n[profile.\"home\"]\n\"b\" = 4\n";
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 6), 2);
        assert_eq!(line_at(text, 10_000), 7);
        assert_eq!(key_line(text, "b", None), Some(2));
        assert_eq!(key_line(text, "b", Some("profile.work")), Some(4));
        assert_eq!(key_line(text, "b", Some("profile.home")), Some(6));
        assert_eq!(key_line(text, "bb", None), None);
        assert_eq!(key_line(text, "c", None), None);
        let origin = Path::new("chatd.toml");
        assert_eq!(located(origin, Some(2), "bad"), "chatd.toml line 2: bad");
        assert_eq!(located(origin, None, "bad"), "chatd.toml: bad");
        assert_eq!(place(origin, Some(3)), "chatd.toml line 3");
    }
}
