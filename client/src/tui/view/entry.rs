//! The rows of one entry of the message pane: its prefix (time, sender,
//! kind), its text escaped with blank lines collapsed and our name
//! highlighted, laid out by grapheme cluster and wrapped at a width, with
//! continuation lines indented under the text. Only the text of a message
//! or a notice breaks into lines; the fields a peer controls (names,
//! reasons) stay on theirs, their newlines escaped.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::Styles;
use crate::escape;
use crate::model::{Entry, Kind, Span as Piece};
use crate::tui::app::{App, Shown};
use crate::tui::text;

/// One grapheme cluster, its style and its columns, before wrapping.
#[derive(Clone, Debug)]
struct Glyph {
    text: Box<str>,
    style: Style,
    width: usize,
}

impl Glyph {
    fn space() -> Self {
        Self {
            text: " ".into(),
            style: Style::new(),
            width: 1,
        }
    }

    fn is_space(&self) -> bool {
        &*self.text == " "
    }
}

/// Clusters and their styles, before wrapping.
type Cells = Vec<Glyph>;

fn push(cells: &mut Cells, text: &str, style: Style) {
    cells.extend(text::clusters(text).map(|cluster| glyph(cluster, style)));
}

/// A cluster as laid out: an uncertain one (see [`text::settle`]) with
/// the padding that makes room for its wider reading.
fn glyph(cluster: &str, style: Style) -> Glyph {
    let width = text::columns(cluster);
    let pad = width - text::width(cluster);
    let text = if pad == 0 {
        cluster.into()
    } else {
        format!("{cluster}{}", " ".repeat(pad)).into()
    };
    Glyph { text, style, width }
}

fn cells_width(cells: &[Glyph]) -> usize {
    cells.iter().map(|g| g.width).sum()
}

/// One line of an entry's text, as pieces: a piece of text or message
/// (one line of it), or a field a peer controls, escaped onto this line.
type TextLine<'a> = Vec<Piece<'a>>;

/// The entry's text as lines: a text span's newlines start new lines; a
/// field (a name, a reason) never does: its newline is escaped where it
/// stands, so no peer can start a line that passes for another's.
/// Blank lines are collapsed: none before or after the text, at most one
/// between two lines of it; so a message of thirty newlines cannot push
/// its sender off the pane. A text that is all blank keeps one (empty)
/// line.
fn text_lines(entry: &Entry) -> Vec<TextLine<'_>> {
    let mut raw: Vec<TextLine> = vec![Vec::new()];
    for span in entry.spans() {
        match span {
            Piece::Field(_) => raw.last_mut().expect("a line").push(span),
            Piece::Text(text) => {
                for (i, piece) in text.split('\n').enumerate() {
                    if i > 0 {
                        raw.push(Vec::new());
                    }
                    if !piece.is_empty() {
                        raw.last_mut().expect("a line").push(Piece::Text(piece));
                    }
                }
            }
        }
    }
    let blank = |line: &TextLine| {
        line.iter().all(|span| match span {
            Piece::Text(text) => text.trim().is_empty(),
            Piece::Field(_) => false,
        })
    };
    let mut lines: Vec<TextLine> = Vec::new();
    let mut blank_before = false;
    for line in raw {
        if blank(&line) {
            blank_before = !lines.is_empty();
            continue;
        }
        if blank_before {
            lines.push(Vec::new());
            blank_before = false;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(Vec::new());
    }
    lines
}

/// `text` escaped, tabs expanded, with our name highlighted where it
/// occurs (in a mention) and what is searched for, wherever it occurs.
fn push_text(cells: &mut Cells, app: &App, text: &str, style: Style, mention: bool, st: &Styles) {
    let escaped = escape::one_line(text);
    let tabbed = text::expand_tabs(&escaped);
    let safe = text::cap_clusters(&tabbed);
    let lower = safe.to_ascii_lowercase();
    // Byte ranges to highlight, in order, not overlapping.
    let mut marks: Vec<(usize, usize, Style)> = Vec::new();
    let mut mark = |needle: &str, style: Style| {
        if needle.is_empty() {
            return;
        }
        for (i, _) in lower.match_indices(needle) {
            let end = i + needle.len();
            if !marks.iter().any(|&(a, b, _)| i < b && a < end) {
                marks.push((i, end, style));
            }
        }
    };
    if let Some(query) = app.search_query() {
        mark(&query.to_ascii_lowercase(), st.found());
    }
    if mention {
        mark(&app.me.to_ascii_lowercase(), st.mention());
    }
    marks.sort_by_key(|&(a, _, _)| a);
    let mut at = 0;
    for (start, end, mark_style) in marks {
        push(cells, &safe[at..start], style);
        push(cells, &safe[start..end], mark_style);
        at = end;
    }
    push(cells, &safe[at..], style);
}

/// The rows of one entry at `width` columns: prefix, text, continuation
/// lines indented under the text.
pub fn rows(app: &App, shown: &Shown, width: usize) -> Vec<Line<'static>> {
    entry_rows(app, &shown.entry, shown.own, shown.mention, false, width)
}

pub(super) fn entry_rows(
    app: &App,
    entry: &Entry,
    own: bool,
    mention: bool,
    pending: bool,
    width: usize,
) -> Vec<Line<'static>> {
    let st = Styles { color: app.color };
    let width = width.max(4);
    if entry.kind == Kind::Divider {
        let label = format!("─── {} ", super::one_line(&entry.text));
        let fill = width.saturating_sub(text::text_width(&label));
        let text = format!("{label}{}", "─".repeat(fill));
        return vec![Line::from(Span::styled(text, st.dim()))];
    }
    let mut prefix = Cells::new();
    let time = match entry.ts {
        Some(ts) => app.clock.time(ts),
        // A line of ours not sent yet: room for a time.
        None => " ".repeat(text::text_width(&app.clock.time(app.clock.now()))),
    };
    push(&mut prefix, &format!("{time} "), st.dim());
    let from = super::one_line(&entry.from);
    let mut text_style = Style::new();
    match &entry.kind {
        Kind::Message => {
            push(&mut prefix, "<", st.dim());
            push(&mut prefix, &from, st.name(&entry.from));
            push(&mut prefix, "> ", st.dim());
        }
        Kind::Action => {
            push(&mut prefix, "* ", Style::new());
            push(&mut prefix, &from, st.name(&entry.from));
            push(&mut prefix, " ", Style::new());
            text_style = Style::new().add_modifier(Modifier::ITALIC);
        }
        Kind::Dm { to } => {
            push(&mut prefix, &from, st.name(&entry.from));
            push(&mut prefix, " → ", st.dm());
            push(&mut prefix, &super::one_line(to), st.name(to));
            push(&mut prefix, ": ", st.dm());
            text_style = st.dm();
        }
        Kind::Notice | Kind::AdminNotice => {
            push(
                &mut prefix,
                "-!- ",
                st.notice().add_modifier(Modifier::BOLD),
            );
            text_style = st.notice();
        }
        Kind::Warning => {
            push(&mut prefix, "!!! ", st.warning());
            text_style = st.warning();
        }
        Kind::Divider => {}
    }
    if pending {
        for glyph in &mut prefix {
            glyph.style = st.dim();
        }
        text_style = st.dim();
    }
    if own && !pending {
        text_style = text_style.add_modifier(Modifier::BOLD);
    }
    let indent = cells_width(&prefix);
    let indent = if indent * 2 > width { 2 } else { indent };
    let mut rows = Vec::new();
    for (i, line) in text_lines(entry).into_iter().enumerate() {
        let mut cells = if i == 0 {
            prefix.clone()
        } else {
            vec![Glyph::space(); indent]
        };
        for span in line {
            let (Piece::Text(text) | Piece::Field(text)) = span;
            push_text(&mut cells, app, text, text_style, mention, &st);
        }
        wrap(cells, width, indent, &mut rows);
    }
    if pending && let Some(last) = rows.last_mut() {
        let used: usize = last.width();
        let tag = " (pending)";
        if used + tag.len() <= width {
            let pad = width - used - tag.len();
            last.spans.push(Span::raw(" ".repeat(pad)));
            last.spans.push(Span::styled(tag, st.dim()));
        } else {
            rows.push(Line::from(Span::styled(
                format!("{}{tag}", " ".repeat(indent)),
                st.dim(),
            )));
        }
    }
    rows
}

/// Wraps `cells` into rows of at most `width` columns, breaking after a
/// space where one is near, continuation rows indented by `indent`.
fn wrap(cells: Cells, width: usize, indent: usize, out: &mut Vec<Line<'static>>) {
    let mut row: Cells = Vec::new();
    let mut used = 0;
    let mut first = true;
    for glyph in cells {
        let w = glyph.width;
        if used + w > width && !row.is_empty() {
            // Break at the last space of the row if it is in its second half.
            let min_keep = if first { 0 } else { indent } + (width / 2);
            let cut = row
                .iter()
                .rposition(Glyph::is_space)
                .filter(|&at| at >= min_keep.min(row.len()) && at + 1 < row.len());
            let carry: Cells = match cut {
                Some(at) => row.split_off(at + 1),
                None => Vec::new(),
            };
            out.push(to_line(std::mem::take(&mut row)));
            first = false;
            row = vec![Glyph::space(); indent.min(width.saturating_sub(2))];
            row.extend(carry);
            used = cells_width(&row);
        }
        row.push(glyph);
        used += w;
    }
    if !row.is_empty() || first {
        out.push(to_line(row));
    }
}

fn to_line(cells: Cells) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for glyph in cells {
        if style != Some(glyph.style) {
            if let Some(style) = style {
                spans.push(Span::styled(std::mem::take(&mut text), style));
            }
            style = Some(glyph.style);
        }
        text.push_str(&glyph.text);
    }
    if let Some(style) = style {
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}
