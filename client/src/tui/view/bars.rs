//! The two one-row bars: the status bar at the top (the link's state
//! first, then who and where, as much as fits) and the rule above the
//! input (a key hint, or the warning for a line too long to send).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tokio::time::Instant;

use super::Styles;
use crate::tui::app::{App, Place, link_text};
use crate::tui::text;

pub(super) fn draw_status(frame: &mut Frame, app: &App, area: Rect, st: &Styles) {
    let fingerprint: String = app.fingerprint.chars().take(8).collect();
    let state = match &app.ended {
        Some(_) if app.link == crate::engine::Link::Down => "session ended".to_owned(),
        _ => link_text(app.link, Instant::now()),
    };
    let mut me = super::one_line(&app.me);
    if app.ids.operator(&app.me) {
        me.insert(0, '@');
    }
    if app.ids.verified(&app.me) {
        me.push_str(" ✓");
    }
    // While reconnecting, the count is the old one: not said as if known.
    let online = match app.stale_since {
        Some(_) => "? online".to_owned(),
        None => format!("{} online", app.shown_online()),
    };
    // How many messages `/ignore` hid in this session, once there are some.
    let hidden = match app.ids.ignored.total_hidden() {
        0 => String::new(),
        n => format!("{n} hidden"),
    };
    let url = super::one_line(&app.url);
    let key = format!("key {fingerprint}…");
    // Where: the room (and its topic), or the person of a direct message;
    // nothing with a server without rooms.
    let (place, topic) = match &app.buf().place {
        _ if !app.rooms => (String::new(), String::new()),
        Place::Room(room) => {
            let topic = app.buf().topic.as_deref().filter(|t| !t.is_empty());
            let with = topic.map_or_else(
                || room.to_string(),
                |t| format!("{room}: {}", super::one_line(t)),
            );
            (room.to_string(), with)
        }
        Place::Direct(name) => {
            let name = format!("→ {}", super::one_line(name));
            (name.clone(), name)
        }
    };
    // What matters most survives a narrow terminal: the state, then who
    // and where.
    let mut candidates = vec![
        vec!["chat", &url, &me, &topic, &online, &hidden, &key, &state],
        vec!["chat", &url, &me, &topic, &online, &hidden, &state],
    ];
    if app.rooms {
        // The topic says more than the server's address.
        candidates.push(vec!["chat", &me, &topic, &online, &hidden, &state]);
        candidates.push(vec![&me, &place, &online, &hidden, &state]);
        candidates.push(vec![&place, &state]);
    } else {
        candidates.push(vec![&me, &online, &hidden, &state]);
    }
    candidates.push(vec![&state]);
    let width = area.width as usize;
    let text = candidates
        .iter()
        .map(|parts| {
            let parts: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
            format!(" {}", parts.join(" · "))
        })
        .find(|candidate| text::text_width(candidate) <= width)
        .unwrap_or_else(|| format!(" {state}"));
    let style = match app.link {
        crate::engine::Link::Up => st.bar(),
        _ => st.bar().add_modifier(Modifier::BOLD),
    };
    frame.render_widget(Paragraph::new(text).style(style), area);
}

/// The rule above the input; `hidden` is the input's rows above and
/// below those shown.
pub(super) fn draw_rule(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    hidden: (usize, usize),
    st: &Styles,
) {
    let len = app.editor.text().len();
    let (hint, style) = if let Some(question) = app.quit_question() {
        (question, st.error())
    } else if let Some(status) = app.search_status() {
        (status, st.notice())
    } else if let Some(secret) = &app.secret {
        let hint = match secret.remedy {
            crate::engine::Remedy::Key => {
                " Enter: join with this key · Esc: not now · Ctrl-C: leave "
            }
            _ => " Enter: join with this password · Esc: not now · Ctrl-C: leave ",
        };
        (hint.to_owned(), st.notice())
    } else if app.ended.is_some() && app.editor.is_empty() {
        (
            " session ended · q: leave · /reconnect ".to_owned(),
            st.notice(),
        )
    } else if len > app.max_text {
        (
            format!(
                " {len}/{} bytes: too long to send, shorten it ",
                app.max_text
            ),
            st.error(),
        )
    } else if hidden != (0, 0) {
        let mut parts = Vec::new();
        let mut keys = Vec::new();
        if hidden.0 > 0 {
            parts.push(format!("↑ {} more", hidden.0));
            keys.push("Ctrl-A twice: start");
        }
        if hidden.1 > 0 {
            parts.push(format!("↓ {} more", hidden.1));
            keys.push("Ctrl-E twice: end");
        }
        let long = format!(" {} ({}) ", parts.join(" · "), keys.join(", "));
        let short = format!(" {} ", parts.join(" · "));
        let fits = text::text_width(&long) + 2 <= area.width as usize;
        (if fits { long } else { short }, st.notice())
    } else if app.editor.recalled() {
        (
            " a line sent before · Enter: send again · Down: back to the draft ".to_owned(),
            st.dim(),
        )
    } else if app.editor.text().starts_with('/') || !app.editor.is_empty() {
        (" Tab: complete · Alt-Enter: new line ".to_owned(), st.dim())
    } else if app.rooms {
        (" Alt-1…9: rooms · F2: users · /help ".to_owned(), st.dim())
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
