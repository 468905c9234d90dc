//! The user list beside the pane, names in their colours; dimmed, under
//! the time it is known as of, while the link is down.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Styles, name_color};
use crate::tui::app::App;

/// The user list; while the link is down, dimmed under the time it is
/// known as of.
pub(super) fn draw_users(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    let stale = app.stale_since.map(|ms| {
        Line::from(vec![
            Span::styled("│ ", st.dim()),
            Span::styled(format!("(as of {})", app.clock.time(ms)), st.dim()),
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
                Span::styled(super::one_line(u), style),
            ])
        }))
        .chain(std::iter::repeat_with(|| {
            Line::from(Span::styled("│", st.dim()))
        }))
        .take(area.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
