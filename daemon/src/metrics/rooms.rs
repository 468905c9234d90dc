//! The families of `metrics_per_room`: `chatd_room_members` and
//! `chatd_room_messages_total`, one series per room an admin made (and the
//! default room). Rooms anyone can make by joining them come and go, and
//! would make series come and go with them, so they get none.
//!
//! Both are read from the rooms at each scrape ([`PerRoom::refresh`]): the
//! series of a room removed since the last scrape go with it, and what a
//! room counts is the room's, so no series outlives its room.

use std::sync::Mutex;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The label set of a room's series: `room="#ops"`.
type RoomLabel = [(&'static str, String); 1];

/// One room as a scrape shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomCount {
    /// The room's name (`#ops`).
    pub room: String,
    /// This node's users in the room now.
    pub members: usize,
    /// Messages and actions accepted in the room from this node since
    /// chatd started.
    pub messages: u64,
}

/// The per-room families (registered only with `metrics_per_room`).
pub struct PerRoom {
    members: Family<RoomLabel, Gauge>,
    messages: Family<RoomLabel, Counter>,
    /// Held from a refresh to the end of the encoding that follows it, so
    /// that two scrapes at once never show each other's half-made series.
    pub(super) scrape: Mutex<()>,
}

impl PerRoom {
    /// Registers both families.
    pub(super) fn register(registry: &mut Registry) -> Self {
        let members = Family::<RoomLabel, Gauge>::default();
        let messages = Family::<RoomLabel, Counter>::default();
        registry.register(
            "chatd_room_members",
            "This node's users in the room now (rooms an admin made, and the default room)",
            members.clone(),
        );
        registry.register(
            "chatd_room_messages",
            "Messages and actions accepted in the room from this node",
            messages.clone(),
        );
        Self {
            members,
            messages,
            scrape: Mutex::new(()),
        }
    }

    /// Makes the series those of `rooms`, as they are now; the caller holds
    /// [`PerRoom::scrape`] until it has encoded them.
    pub(super) fn refresh(&self, rooms: &[RoomCount]) {
        self.members.clear();
        self.messages.clear();
        for room in rooms {
            let label = [("room", room.room.clone())];
            self.members
                .get_or_create(&label)
                .set(i64::try_from(room.members).unwrap_or(i64::MAX));
            self.messages.get_or_create(&label).inc_by(room.messages);
        }
    }
}
