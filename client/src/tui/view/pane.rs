//! The message pane: walks up from its bottom row (or from the scroll
//! anchor), wrapping one entry at a time until the pane is full, with our
//! pending lines at the bottom when live and the "more below" marker when
//! scrolled.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Styles;
use super::entry::{entry_rows, rows};
use crate::tui::app::App;
use crate::tui::text;

pub(super) fn draw_pane(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    // While scrolled, the bottom row is the marker's, and the anchored
    // line sits just above it.
    let height = (area.height as usize).saturating_sub(usize::from(app.buf().scroll.is_some()));
    let width = area.width as usize;
    // Walk up from the bottom, wrapping as we go, until the pane is full.
    let mut rows: Vec<Line> = Vec::new();
    let (mut index, mut skip) = match app.buf().scroll {
        None => {
            for (_, _, entry) in app
                .pending
                .iter()
                .rev()
                .filter(|(_, place, _)| place == &app.buf().place)
            {
                let mut more = entry_rows(app, entry, true, false, true, width);
                more.extend(rows);
                rows = more;
                if rows.len() >= height {
                    break;
                }
            }
            (app.buf().lines.len(), 0)
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
    if app.buf().scroll.is_some() {
        // End moves the input's cursor while something is typed: then
        // only Ctrl-End goes back to live.
        let live_key = if app.editor.is_empty() {
            "End"
        } else {
            "Ctrl-End"
        };
        let marker = if app.buf().unseen > 0 {
            let s = if app.buf().unseen == 1 { "" } else { "s" };
            format!(" {} new message{s} ↓ ({live_key}: live) ", app.buf().unseen)
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
    rows(app, &app.buf().lines[index], width)
}
