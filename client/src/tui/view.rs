//! Draws the [`App`]: status bar, room list (with a server that has
//! rooms), message pane, user list, input line.
//!
//! ```text
//!  chat · ws://host:1719/ · ace · #ops: deploys · 3 online · connected
//!   #lobby  │ ─── history ─────────────────────────┃ ace
//!  >#ops    │ 11:58 <bob> morning                   ┃ bob
//!   #coffee3│ ─── live ────────────────────────────┃ carol
//!   ─ direct│ 12:01 <carol> hi all, ace: it's green ┃
//!   bob    1│ 12:02 <ace> thanks!         (pending) ┃
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
//!
//! - [`draw`] lays the screen out; each part is drawn by its own module:
//!   [`bars`] the status bar and the rule above the input, [`rooms`] the
//!   room list, [`pane`] the message pane, [`users`] the user list,
//!   [`input`] the input line;
//! - [`entry`]: the rows of one entry (prefix, escaped text, mentions,
//!   wrapping), which the pane draws and the app's scrolling counts;
//! - [`style`]: the styles and the names' colours.

mod bars;
mod entry;
mod input;
mod pane;
mod rooms;
mod style;
mod users;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use self::bars::{draw_rule, draw_status};
pub use self::entry::rows;
use self::input::input_rows;
use self::pane::draw_pane;
use self::rooms::draw_rooms;
use self::style::Styles;
pub use self::style::name_color;
use self::users::draw_users;
use super::app::App;
use super::text;

/// The user list is hidden below this width.
const USERS_MIN_WIDTH: u16 = 60;
/// The room list is hidden below this width.
const ROOMS_MIN_WIDTH: u16 = 50;
/// The input grows to at most this many rows.
const INPUT_MAX_ROWS: usize = 5;

/// A short text a peer controls (a name, a label) as it may be drawn: on
/// one line, escaped, and no cluster wider than [`text::MAX_CLUSTER_COLUMNS`].
pub(super) fn one_line(text: &str) -> String {
    text::cap_clusters(&crate::escape::one_line(text)).into_owned()
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

    let (rooms, middle) = if app.rooms && area.width >= ROOMS_MIN_WIDTH {
        let [rooms, rest] =
            Layout::horizontal([Constraint::Length(rooms::width(app)), Constraint::Min(10)])
                .areas(middle);
        (Some(rooms), rest)
    } else {
        (None, middle)
    };
    if let Some(rooms) = rooms {
        draw_rooms(frame, app, rooms, &st);
    }
    let users_shown = app.show_users && area.width >= USERS_MIN_WIDTH;
    let (pane, users) = if users_shown {
        // A name, with room for its marks: `@` (while an operator is
        // online, a column of its own) and ` ✓`.
        let ops = usize::from(app.ids.any_operator());
        let mut longest = app
            .shown_users()
            .iter()
            .map(|u| u.len() + ops + if app.ids.verified(u) { 2 } else { 0 })
            .max()
            .unwrap_or(4);
        if app.stale_since.is_some() {
            let as_of = format!("(as of {})", app.clock.time(app.clock.now()));
            longest = longest.max(text::text_width(&as_of));
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
    // The input: the rows around the cursor; the rule says what is
    // above or below them.
    let first = (cursor.1 + 1).saturating_sub(input_height as usize);
    let hidden = (
        first,
        input_rows
            .len()
            .saturating_sub(first + input_height as usize),
    );
    draw_rule(frame, app, rule, hidden, &st);

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
