//! The room list on the left (with a server that has rooms): the rooms
//! the session is in, the default room first, then under "─ direct" the
//! people of the direct-message buffers; the one on screen marked `>` and
//! highlighted; after each other one, how many messages came there unseen
//! (bold, and in the mention style, when one of them mentions us or is a
//! direct message to us). Alt-1…9 go to them in this order.
//!
//! ```text
//!   #lobby   │ 11:58 <bob> morning
//!  >#ops     │ ─── live ───
//!   #coffee 3│ 12:00 -!- dave joined #ops (12 online)
//!   ─ direct │
//!   bob     1│
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Styles;
use super::users::fit;
use crate::tui::app::{App, Buffer, Place};
use crate::tui::text;

/// The narrowest and the widest the list may be, its border included.
const WIDTH: (u16, u16) = (10, 20);

/// How wide the list is for `app`'s buffers: the longest name and count,
/// within [`WIDTH`].
pub(super) fn width(app: &App) -> u16 {
    let longest = app
        .buffers
        .iter()
        .map(|b| text::text_width(&super::one_line(b.place.label())) + count(b).len() + 1)
        .max()
        .unwrap_or(0);
    // A margin, the marker, the name and count, the border, a space.
    (longest as u16 + 4).clamp(WIDTH.0, WIDTH.1)
}

/// The unread count after a name: none when there is nothing new.
fn count(buf: &Buffer) -> String {
    match buf.unread {
        0 => String::new(),
        n if n > 999 => "999+".into(),
        n => n.to_string(),
    }
}

pub(super) fn draw_rooms(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    // The columns inside: all but the margin, the marker, the border and
    // the space after it.
    let inner = usize::from(area.width).saturating_sub(4);
    let mut lines: Vec<Line> = Vec::new();
    let mut direct_said = false;
    for (i, buf) in app.buffers.iter().enumerate() {
        if matches!(buf.place, Place::Direct(_)) && !direct_said {
            direct_said = true;
            let label = fit("─ direct", inner);
            lines.push(Line::from(vec![
                Span::styled(format!("  {label:<inner$}"), st.dim()),
                Span::styled("│ ", st.dim()),
            ]));
        }
        let current = i == app.current;
        let count = count(buf);
        let room = inner.saturating_sub(text::text_width(&count) + usize::from(!count.is_empty()));
        let name = fit(&super::one_line(buf.place.label()), room);
        let pad = inner.saturating_sub(text::text_width(&name) + text::text_width(&count));
        let mut style = match &buf.place {
            Place::Room(_) => st.notice(),
            Place::Direct(name) => st.fg(super::name_color(name)),
        };
        if current {
            style = style.add_modifier(Modifier::BOLD | Modifier::REVERSED);
        }
        let count_style = if buf.mentions > 0 {
            st.mention()
        } else {
            st.dim().add_modifier(Modifier::BOLD)
        };
        let marker = if current { ">" } else { " " };
        lines.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(format!("{marker}{name}{}", " ".repeat(pad)), style),
            Span::styled(count, count_style),
            Span::styled("│ ", st.dim()),
        ]));
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .chain(std::iter::repeat_with(|| {
            Line::from(vec![
                Span::raw(" ".repeat(usize::from(area.width).saturating_sub(2))),
                Span::styled("│ ", st.dim()),
            ])
        }))
        .take(area.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
