//! What the full screen does with identities: the roster follows the
//! engine's events (the `✓` and `@` of the user list and `/whois` read
//! it), and its warnings about a name back with another key go into the
//! pane, in the warning style, ringing the bell. What the user ignores
//! leaves the join's history here.

use super::App;
use crate::engine::Event;
use crate::identity::{Alert, Roster};
use crate::model::Kind;

impl App {
    /// Takes `roster` (with the record of the names seen before) for this
    /// session, which joined with `welcome`; what it warns about is shown.
    pub fn with_roster(mut self, roster: Roster, welcome: &chat_protocol::Welcome) -> Self {
        self.ids = roster;
        for note in self.ids.take_notes() {
            self.note(note);
        }
        let alerts = self.ids.welcome(welcome);
        // The join's history is in the pane already: what is ignored goes.
        let ids = &mut self.ids;
        self.buffers[0].lines.retain(|shown| {
            !(matches!(
                shown.entry.kind,
                Kind::Message | Kind::Action | Kind::Dm { .. }
            ) && ids.hides_from(&shown.entry.from))
        });
        for alert in alerts {
            self.push(crate::model::alert(&alert), false);
            self.ring |= matches!(alert, Alert::NewKey { .. } | Alert::NoKey { .. });
        }
        self
    }

    /// Feeds `event` to the roster; the alerts to show after the event's
    /// own lines (a join first, then what is wrong with it).
    pub(super) fn identities_in(&mut self, event: &Event) -> Vec<Alert> {
        let alerts = match event {
            Event::Server { event, .. } => self.ids.event(event),
            Event::Users(None, users, members) => self.ids.users(users, members),
            Event::Rejoined { welcome, .. } => self.ids.welcome(welcome),
            _ => Vec::new(),
        };
        self.ring |= alerts
            .iter()
            .any(|alert| matches!(alert, Alert::NewKey { .. } | Alert::NoKey { .. }));
        alerts
    }

    /// What `/whois NAME` adds to the name's line: its identity and the
    /// ones this client has seen for it, as notes.
    pub(super) fn whois_identity(&mut self, name: &str) {
        for line in self.ids.identity_lines(name) {
            self.note(line);
        }
    }
}
