//! The user list beside the pane, names in their colours, `@` before an
//! operator's (a column of its own while one is online) and `✓` after a
//! verified identity; dimmed, under the time it is known as of, while the
//! link is down.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Styles, name_color};
use crate::tui::app::App;
use crate::tui::text;

/// The user list; while the link is down, dimmed under the time it is
/// known as of.
pub(super) fn draw_users(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    // The columns a name may take: the list's, less "│ ".
    let width = usize::from(area.width).saturating_sub(2);
    let stale = app.stale_since.map(|ms| {
        Line::from(vec![
            Span::styled("│ ", st.dim()),
            Span::styled(format!("(as of {})", app.clock.time(ms)), st.dim()),
        ])
    });
    // The operators' column, while there is one to mark.
    let ops = app.ids.any_operator();
    let lines: Vec<Line> = stale
        .into_iter()
        .chain(app.shown_users().iter().map(|u| {
            let mut style = st.fg(name_color(u));
            if u.eq_ignore_ascii_case(&app.me) {
                style = style.add_modifier(Modifier::BOLD);
            }
            if app.stale_since.is_some() {
                style = st.dim();
            }
            let mark = app.ids.verified(u);
            let room = width.saturating_sub(usize::from(mark) * 2 + usize::from(ops));
            let mut line = Line::from(Span::styled("│ ", st.dim()));
            if ops {
                let op = if app.ids.operator(u) { "@" } else { " " };
                line.spans.push(Span::styled(op, style));
            }
            line.spans
                .push(Span::styled(fit(&super::one_line(u), room), style));
            // A verified identity (docs/protocol.md §12.4).
            if mark {
                line.spans.push(Span::styled(" ✓", style));
            }
            line
        }))
        .chain(std::iter::repeat_with(|| {
            Line::from(Span::styled("│", st.dim()))
        }))
        .take(area.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// `name` in at most `width` columns: cut, ending with `…`, if longer
/// (`/whois` shows it whole).
pub(super) fn fit(name: &str, width: usize) -> String {
    if text::text_width(name) <= width {
        return name.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for cluster in text::clusters(name) {
        let w = text::columns(cluster);
        if used + w + 1 > width {
            break;
        }
        out.push_str(cluster);
        used += w;
    }
    out.push('…');
    out
}
