//! The input line's layout: the editor's text by grapheme cluster, broken
//! into rows at a width, and where the cursor is in them.

use std::borrow::Cow;

use ratatui::text::Line;

use crate::tui::app::App;
use crate::tui::text;

/// One cluster of the input as laid out: where it starts in the editor's
/// text (a char index), what it is and its columns.
struct Typed<'a> {
    at: usize,
    text: Cow<'a, str>,
    width: usize,
}

/// The input's rows at `width` and the cursor's (column, row) in them.
///
/// Laid out by grapheme cluster, as ratatui draws it, so that the cursor
/// is where the text shows it; the last column stays free for the cursor.
/// A row too long breaks after its last space (the space ends the row, the
/// next starts with the word), or mid-word when the word has no space
/// before it in the row.
pub(super) fn input_rows(app: &App, width: usize) -> (Vec<Line<'static>>, (usize, usize)) {
    const PROMPT: usize = 2;
    let one_row = match (&app.secret, &app.search) {
        // Masked: the prompt and a dot a character.
        (Some(secret), _) => Some(format!("> {}", secret.shown())),
        (None, Some(search)) => Some(format!("(search) {}", super::one_line(&search.query))),
        (None, None) => None,
    };
    if let Some(shown) = one_row {
        // One row, the cursor after its text.
        let cursor = text::text_width(&shown).min(width.saturating_sub(1));
        return (vec![Line::from(shown)], (cursor, 0));
    }
    let text = app.editor.text();
    let cursor_at = app.editor.cursor();
    let limit = width.saturating_sub(1).max(PROMPT + 1);
    let row_width = |row: &[Typed]| PROMPT + row.iter().map(|t| t.width).sum::<usize>();
    let mut rows: Vec<Vec<Typed>> = Vec::new();
    let mut row: Vec<Typed> = Vec::new();
    let chars = text.chars().count();
    for (at, cluster) in pieces(&text) {
        if cluster == "\n" {
            // Ends the row; the cursor on it sits after the row's text.
            row.push(Typed {
                at,
                text: "".into(),
                width: 0,
            });
            rows.push(std::mem::take(&mut row));
            continue;
        }
        let w = text::columns(&cluster);
        if row_width(&row) + w > limit && !row.is_empty() {
            if cluster == " " {
                // A space at the break ends its row instead of starting
                // the next.
                row.push(Typed {
                    at,
                    text: " ".into(),
                    width: 1,
                });
                rows.push(std::mem::take(&mut row));
                continue;
            }
            let cut = row
                .iter()
                .rposition(|t| t.text == " ")
                .filter(|&at| at + 1 < row.len());
            let carry = match cut {
                Some(at) => row.split_off(at + 1),
                None => Vec::new(),
            };
            rows.push(std::mem::replace(&mut row, carry));
        }
        row.push(Typed {
            at,
            text: cluster,
            width: w,
        });
    }
    rows.push(row);

    let mut cursor = None;
    let mut lines = Vec::with_capacity(rows.len());
    for (y, row) in rows.iter().enumerate() {
        let mut line = String::from(if y == 0 { "> " } else { "  " });
        let mut x = PROMPT;
        for typed in row {
            if typed.at <= cursor_at {
                cursor = Some((x, y));
            }
            line.push_str(&typed.text);
            // An uncertain cluster's room (see `text::settle`).
            let pad = typed.width.saturating_sub(text::width(&typed.text));
            line.extend(std::iter::repeat_n(' ', pad));
            x += typed.width;
        }
        lines.push(Line::from(line));
    }
    if cursor_at >= chars {
        let last = rows.len() - 1;
        cursor = Some((row_width(&rows[last]), last));
    }
    (lines, cursor.unwrap_or((PROMPT, 0)))
}

/// The clusters of `text` with the char index each starts at; a cluster
/// wider than [`text::MAX_CLUSTER_COLUMNS`] comes as its first char, then
/// its other chars escaped (`\\u{200d}`), each at its own index, as the
/// pane shows one (see [`text::cap_clusters`]).
fn pieces(text: &str) -> Vec<(usize, Cow<'_, str>)> {
    let mut out = Vec::new();
    let mut at = 0;
    for cluster in text::clusters(text) {
        let count = cluster.chars().count();
        if text::columns(cluster) <= text::MAX_CLUSTER_COLUMNS {
            out.push((at, Cow::Borrowed(cluster)));
        } else {
            for (i, (byte, c)) in cluster.char_indices().enumerate() {
                let piece = if i == 0 {
                    Cow::Borrowed(&cluster[byte..byte + c.len_utf8()])
                } else {
                    Cow::Owned(format!("\\u{{{:x}}}", u32::from(c)))
                };
                out.push((at + i, piece));
            }
        }
        at += count;
    }
    out
}
