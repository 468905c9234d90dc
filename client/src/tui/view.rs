//! Draws the [`App`]: status bar, message pane, user list, input line.
//!
//! ```text
//!  chat · ws://host:1719/ · ace · 3 online · key 5d67e3a0… · connected
//!  ─── history ──────────────────────────────────────┃ ace
//!  11:58 <bob> morning                                ┃ bob
//!  ─── live ─────────────────────────────────────────┃ carol
//!  12:01 <carol> hi all, ace: the build is green      ┃
//!  12:02 <ace> thanks!                      (pending) ┃
//!  ──────────────────────────── Tab: complete · F2: users
//!  > /msg car▏
//! ```
//!
//! Only what fits is laid out: the pane walks up from its bottom line,
//! wrapping one entry at a time, so a frame costs the same with a hundred
//! lines of scrollback or a hundred thousand. Every peer-controlled text is
//! escaped before it reaches a cell; text is laid out by grapheme cluster
//! ([`super::text`]), measured as ratatui measures it (wide CJK and emoji
//! take two columns, a flag or an emoji with its skin tone is one cluster),
//! so a cluster is never cut and the layout is what ratatui draws; one
//! that terminals draw at another width (👍🏽 in tmux) gets room for the
//! wider reading, and [`text::settle`] makes its cell safe to draw. A tab
//! goes to the next stop of eight columns; a message's blank lines are
//! collapsed (none before or after its text, one at most between).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tokio::time::Instant;

use super::app::{App, Shown, link_text};
use super::text;
use crate::escape;
use crate::model::{Entry, Kind};

/// The user list is hidden below this width.
const USERS_MIN_WIDTH: u16 = 60;
/// The input grows to at most this many rows.
const INPUT_MAX_ROWS: usize = 5;

const PALETTE: [Color; 10] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::LightRed,
    Color::LightCyan,
    Color::LightGreen,
    Color::LightBlue,
    Color::LightMagenta,
];

/// A name's colour: the same name, the same colour, everywhere and always.
pub fn name_color(name: &str) -> Color {
    // FNV-1a, over the name as the server compares it.
    let mut hash: u32 = 0x811c_9dc5;
    for b in name.to_ascii_lowercase().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    PALETTE[hash as usize % PALETTE.len()]
}

/// Styles, with or without colour.
struct Styles {
    color: bool,
}

impl Styles {
    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }
    fn name(&self, name: &str) -> Style {
        self.fg(name_color(name)).add_modifier(Modifier::BOLD)
    }
    fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    fn notice(&self) -> Style {
        self.fg(Color::Yellow)
    }
    fn dm(&self) -> Style {
        self.fg(Color::Magenta)
    }
    fn mention(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn bar(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

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

/// The lines of a message's text, its blank lines collapsed: none before
/// or after the text, at most one between two lines of it; so a message of
/// thirty newlines cannot push its sender off the pane. A text that is
/// all blank keeps one (empty) line.
fn text_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = Vec::new();
    let mut blank_before = false;
    for line in text.split('\n') {
        if line.trim().is_empty() {
            blank_before = !lines.is_empty();
            continue;
        }
        if blank_before {
            lines.push("");
            blank_before = false;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push("");
    }
    lines
}

/// `text` escaped, tabs expanded, with our name highlighted where it
/// occurs.
fn push_text(cells: &mut Cells, app: &App, text: &str, style: Style, mention: bool, st: &Styles) {
    let escaped = escape::one_line(text);
    let safe = text::expand_tabs(&escaped);
    if !mention {
        return push(cells, &safe, style);
    }
    let lower = safe.to_ascii_lowercase();
    let me = app.me.to_ascii_lowercase();
    let mut at = 0;
    for (i, _) in lower.match_indices(&me) {
        push(cells, &safe[at..i], style);
        push(cells, &safe[i..i + me.len()], st.mention());
        at = i + me.len();
    }
    push(cells, &safe[at..], style);
}

/// The rows of one entry at `width` columns: prefix, text, continuation
/// lines indented under the text.
pub fn rows(app: &App, shown: &Shown, width: usize) -> Vec<Line<'static>> {
    entry_rows(app, &shown.entry, shown.own, shown.mention, false, width)
}

fn entry_rows(
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
        let label = format!("─── {} ", escape::one_line(&entry.text));
        let fill = width.saturating_sub(text::text_width(&label));
        let text = format!("{label}{}", "─".repeat(fill));
        return vec![Line::from(Span::styled(text, st.dim()))];
    }
    let mut prefix = Cells::new();
    match entry.ts {
        Some(ts) => push(&mut prefix, &format!("{} ", (app.clock)(ts)), st.dim()),
        None => push(&mut prefix, "      ", st.dim()),
    }
    let from = escape::one_line(&entry.from).into_owned();
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
            push(&mut prefix, &escape::one_line(to), st.name(to));
            push(&mut prefix, ": ", st.dm());
            text_style = st.dm();
        }
        Kind::Notice => {
            push(
                &mut prefix,
                "-!- ",
                st.notice().add_modifier(Modifier::BOLD),
            );
            text_style = st.notice();
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
    for (i, line) in text_lines(&entry.text).into_iter().enumerate() {
        let mut cells = if i == 0 {
            prefix.clone()
        } else {
            vec![Glyph::space(); indent]
        };
        push_text(&mut cells, app, line, text_style, mention, &st);
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

/// Draws the whole screen, and records the pane's size in the app.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let st = Styles { color: app.color };
    let input_width = area.width.max(4) as usize;
    let (input_rows, cursor) = input_rows(app, input_width);
    let input_height = input_rows.len().clamp(1, INPUT_MAX_ROWS) as u16;
    let [status, middle, rule, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(input_height),
    ])
    .areas(area);

    draw_status(frame, app, status, &st);

    let users_shown = app.show_users && area.width >= USERS_MIN_WIDTH;
    let (pane, users) = if users_shown {
        let mut longest = app.users.iter().map(|u| u.len()).max().unwrap_or(4);
        if app.stale_since.is_some() {
            longest = longest.max("(as of 12:00)".len());
        }
        let list_width = (longest as u16 + 3).clamp(8, 24);
        let [pane, users] =
            Layout::horizontal([Constraint::Min(10), Constraint::Length(list_width)]).areas(middle);
        (pane, Some(users))
    } else {
        (middle, None)
    };
    app.pane = (pane.width as usize, pane.height as usize);
    draw_pane(frame, app, pane, &st);
    if let Some(users) = users {
        draw_users(frame, app, users, &st);
    }
    draw_rule(frame, app, rule, &st);

    // The input: the rows around the cursor.
    let first = (cursor.1 + 1).saturating_sub(input_height as usize);
    let shown: Vec<Line> = input_rows
        .into_iter()
        .skip(first)
        .take(input_height as usize)
        .collect();
    frame.render_widget(Paragraph::new(shown), input);
    frame.set_cursor_position(Position::new(
        input.x + cursor.0 as u16,
        input.y + (cursor.1 - first) as u16,
    ));
    app.uncertain_rows = text::settle(frame.buffer_mut(), area, &app.uncertain_rows);
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    let fingerprint: String = app.fingerprint.chars().take(8).collect();
    let state = link_text(app.link, Instant::now());
    let me = escape::one_line(&app.me);
    // While reconnecting, the count is the old one: not said as if known.
    let online = match app.stale_since {
        Some(_) => "? online".to_owned(),
        None => format!("{} online", app.users.len()),
    };
    let url = escape::one_line(&app.url);
    let key = format!("key {fingerprint}…");
    // What matters most survives a narrow terminal: the state, then who.
    let candidates = [
        vec!["chat", &url, &me, &online, &key, &state],
        vec!["chat", &url, &me, &online, &state],
        vec![&me, &online, &state],
        vec![&state],
    ];
    let width = area.width as usize;
    let text = candidates
        .iter()
        .map(|parts| format!(" {}", parts.join(" · ")))
        .find(|candidate| text::text_width(candidate) <= width)
        .unwrap_or_else(|| format!(" {state}"));
    let style = match app.link {
        crate::engine::Link::Up => st.bar(),
        _ => st.bar().add_modifier(Modifier::BOLD),
    };
    frame.render_widget(Paragraph::new(text).style(style), area);
}

fn draw_pane(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    // While scrolled, the bottom row is the marker's, and the anchored
    // line sits just above it.
    let height = (area.height as usize).saturating_sub(usize::from(app.scroll.is_some()));
    let width = area.width as usize;
    // Walk up from the bottom, wrapping as we go, until the pane is full.
    let mut rows: Vec<Line> = Vec::new();
    let (mut index, mut skip) = match app.scroll {
        None => {
            for (_, entry) in app.pending.iter().rev() {
                let mut more = entry_rows(app, entry, true, false, true, width);
                more.extend(rows);
                rows = more;
                if rows.len() >= height {
                    break;
                }
            }
            (app.lines.len(), 0)
        }
        Some(anchor) => (anchor.entry + 1, anchor.rows_below),
    };
    while rows.len() < height && index > 0 {
        index -= 1;
        let mut more = rows_of(app, index, width);
        more.truncate(more.len().saturating_sub(skip));
        skip = 0;
        more.extend(rows);
        rows = more;
    }
    let start = rows.len().saturating_sub(height);
    let mut rows: Vec<Line> = rows.into_iter().skip(start).collect();
    if app.scroll.is_some() {
        // End moves the input's cursor while something is typed: then
        // only Ctrl-End goes back to live.
        let live_key = if app.editor.is_empty() {
            "End"
        } else {
            "Ctrl-End"
        };
        let marker = if app.unseen > 0 {
            let s = if app.unseen == 1 { "" } else { "s" };
            format!(" {} new message{s} ↓ ({live_key}: live) ", app.unseen)
        } else {
            format!(" more below ↓ ({live_key}: live) ")
        };
        let marker_width = text::text_width(&marker);
        let left = width.saturating_sub(marker_width) / 2;
        let right = width.saturating_sub(marker_width + left);
        let line = Line::from(vec![
            Span::styled("─".repeat(left), st.dim()),
            Span::styled(marker, st.notice().add_modifier(Modifier::BOLD)),
            Span::styled("─".repeat(right), st.dim()),
        ]);
        rows.push(line);
    }
    frame.render_widget(Paragraph::new(rows), area);
}

fn rows_of(app: &App, index: usize, width: usize) -> Vec<Line<'static>> {
    rows(app, &app.lines[index], width)
}

/// The user list; while the link is down, dimmed under the time it is
/// known as of.
fn draw_users(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    let stale = app.stale_since.map(|ms| {
        Line::from(vec![
            Span::styled("│ ", st.dim()),
            Span::styled(format!("(as of {})", (app.clock)(ms)), st.dim()),
        ])
    });
    let lines: Vec<Line> = stale
        .into_iter()
        .chain(app.users.iter().map(|u| {
            let mut style = st.fg(name_color(u));
            if u.eq_ignore_ascii_case(&app.me) {
                style = style.add_modifier(Modifier::BOLD);
            }
            if app.stale_since.is_some() {
                style = st.dim();
            }
            Line::from(vec![
                Span::styled("│ ", st.dim()),
                Span::styled(escape::one_line(u).into_owned(), style),
            ])
        }))
        .chain(std::iter::repeat_with(|| {
            Line::from(Span::styled("│", st.dim()))
        }))
        .take(area.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_rule(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    let len = app.editor.text().len();
    let (hint, style) = if len > app.max_text {
        (
            format!(
                " {len}/{} bytes: too long to send, shorten it ",
                app.max_text
            ),
            st.error(),
        )
    } else if app.editor.text().starts_with('/') || !app.editor.is_empty() {
        (" Tab: complete · Alt-Enter: new line ".to_owned(), st.dim())
    } else {
        (" /help · F2: users · PgUp: scroll ".to_owned(), st.dim())
    };
    let width = area.width as usize;
    let hint_width = text::text_width(&hint);
    let line = if hint_width + 2 <= width {
        Line::from(vec![
            Span::styled("─".repeat(width - hint_width - 1), st.dim()),
            Span::styled(hint, style),
            Span::styled("─", st.dim()),
        ])
    } else {
        Line::from(Span::styled("─".repeat(width), st.dim()))
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// One cluster of the input as laid out: where it starts in the editor's
/// text (a char index), what it is and its columns.
struct Typed<'a> {
    at: usize,
    text: &'a str,
    width: usize,
}

/// The input's rows at `width` and the cursor's (column, row) in them.
///
/// Laid out by grapheme cluster, as ratatui draws it, so that the cursor
/// is where the text shows it; the last column stays free for the cursor.
/// A row too long breaks after its last space (the space ends the row, the
/// next starts with the word), or mid-word when the word has no space
/// before it in the row.
fn input_rows(app: &App, width: usize) -> (Vec<Line<'static>>, (usize, usize)) {
    const PROMPT: usize = 2;
    let text = app.editor.text();
    let cursor_at = app.editor.cursor();
    let limit = width.saturating_sub(1).max(PROMPT + 1);
    let row_width = |row: &[Typed]| PROMPT + row.iter().map(|t| t.width).sum::<usize>();
    let mut rows: Vec<Vec<Typed>> = Vec::new();
    let mut row: Vec<Typed> = Vec::new();
    let mut chars = 0;
    for cluster in text::clusters(&text) {
        let at = chars;
        chars += cluster.chars().count();
        if cluster == "\n" {
            // Ends the row; the cursor on it sits after the row's text.
            row.push(Typed {
                at,
                text: "",
                width: 0,
            });
            rows.push(std::mem::take(&mut row));
            continue;
        }
        let w = text::columns(cluster);
        if row_width(&row) + w > limit && !row.is_empty() {
            if cluster == " " {
                // A space at the break ends its row instead of starting
                // the next.
                row.push(Typed {
                    at,
                    text: " ",
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
            line.push_str(typed.text);
            // An uncertain cluster's room (see `text::settle`).
            let pad = typed.width.saturating_sub(text::width(typed.text));
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
