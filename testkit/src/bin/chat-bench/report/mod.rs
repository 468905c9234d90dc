//! A run's figures, as a table for people and as one JSON object for
//! scripts (fields documented in docs/performance.md); `compare` puts
//! several runs of one load side by side, with chatd's ratios to the
//! reference servers'.

mod compare;

pub use compare::{compare_table, json_of_runs};

use serde_json::{Value, json};

use crate::check::Violations;
use crate::load::{JoinFigures, Load, Pace, SendFigures};
use crate::proc::Measured;

/// Everything one run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// `chatd`, `reference` (the relay) or `floor`.
    pub server: String,
    /// The server's PIDs (every node's), if known (CPU and memory need
    /// them; figures are summed over the nodes), and the nats-server's.
    pub measured: Measured,
    /// chatd nodes sharing the room through NATS; `None`: one chatd on its
    /// own, no NATS.
    pub nodes: Option<usize>,
    /// The load.
    pub load: Load,
    /// Whether clients joined with a password.
    pub password: bool,
    /// The join phase.
    pub join: JoinFigures,
    /// The sending phase.
    pub send: SendFigures,
    /// The server's peak RSS (VmHWM) at the end, KiB (summed over nodes).
    pub hwm_kib: u64,
    /// /proc/loadavg at the start and at the end.
    pub loadavg: [[f64; 3]; 2],
    /// CPUs of the machine.
    pub cpus: usize,
    /// What one idle connection's socket holds in the kernel on the
    /// server's side, bytes (not in RSS); `None` if the kernel does not say.
    pub kernel_socket_bytes: Option<u64>,
}

fn per(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

impl Report {
    /// Whether the checkers found nothing wrong.
    pub fn clean(&self) -> bool {
        !self.send.violations.any()
    }

    /// Whether every client joined and every message arrived in time.
    pub fn complete(&self) -> bool {
        self.join.failed == 0
            && !self.join.timed_out
            && !self.send.timed_out
            && self.send.delivered == self.send.expected
    }

    /// Idle memory per joined connection, KiB.
    pub fn idle_kib(&self) -> f64 {
        per(
            self.join
                .rss_joined_kib
                .saturating_sub(self.join.rss_before_kib) as f64,
            self.join.joined as f64,
        )
    }

    /// The kernel's part of an idle connection, KiB (not in RSS).
    pub fn kernel_kib(&self) -> Option<f64> {
        self.kernel_socket_bytes.map(|b| b as f64 / 1024.0)
    }

    /// Idle memory per joined connection with the kernel's part: what a
    /// memory cgroup (a systemd unit's `MemoryCurrent`) would count.
    pub fn idle_kib_with_kernel(&self) -> Option<f64> {
        Some(self.idle_kib() + self.kernel_kib()?).filter(|_| self.known())
    }

    /// Deliveries a second.
    pub fn rate(&self) -> f64 {
        per(self.send.delivered as f64, self.send.secs)
    }

    /// Server CPU µs per delivery (all nodes).
    pub fn cpu_per_delivery(&self) -> Option<f64> {
        let us = self.send.cpu.server_us?;
        Some(per(us as f64, self.send.delivered as f64))
    }

    /// The nats-server's CPU µs per delivery, when the nodes use one.
    pub fn nats_cpu_per_delivery(&self) -> Option<f64> {
        let us = self.send.cpu.nats_us?;
        Some(per(us as f64, self.send.delivered as f64))
    }

    /// Whether the server's PIDs are known.
    fn known(&self) -> bool {
        self.measured.known()
    }

    /// How the server ran: `1 node, no NATS`, `3 nodes on NATS`.
    pub fn nodes_text(&self) -> String {
        match self.nodes {
            None => "1, no NATS".into(),
            Some(k) => format!("{k} on NATS"),
        }
    }

    /// Share (0–1) of the machine's CPU that other processes used while
    /// messages were sent.
    fn others_share(&self) -> f64 {
        per(
            self.send.cpu.others_us as f64,
            self.send.cpu.wall_s * 1e6 * self.cpus as f64,
        )
    }

    /// The JSON object of this run.
    pub fn json(&self) -> Value {
        let (pace, window, rate) = match self.load.pace {
            Pace::Window(w) => ("window", Some(w), None),
            Pace::Rate(r) => ("rate", None, Some(r)),
        };
        let v: &Violations = &self.send.violations;
        json!({
            "server": self.server,
            "server_pid": self.measured.server.first(),
            "server_pids": self.measured.server,
            "nodes": self.nodes.unwrap_or(1),
            "nats": self.nodes.is_some(),
            "nats_pid": self.measured.nats,
            "clients": self.load.clients,
            "rooms": self.load.rooms,
            "senders": self.load.senders,
            "messages_per_sender": self.load.messages,
            "message_bytes": self.load.size,
            "pace": pace,
            "window": window,
            "rate_per_s": rate,
            "password": self.password,
            "join": {
                "joined": self.join.joined,
                "failed": self.join.failed,
                "busy_refusals": self.join.busy,
                "first_error": self.join.first_error,
                "secs": self.join.secs,
                "per_join_p50_ms": self.join.p50_us as f64 / 1e3,
                "per_join_p99_ms": self.join.p99_us as f64 / 1e3,
                "presence_events": self.join.presence_events,
                "settle_secs": self.join.settle_secs,
                "timed_out": self.join.timed_out,
                "server_cpu_ms": self.join.cpu.server_us.map(|u| u as f64 / 1e3),
                "load_cpu_ms": self.join.cpu.load_us as f64 / 1e3,
                "others_cpu_ms": self.join.cpu.others_us as f64 / 1e3,
            },
            "send": {
                "sent": self.send.sent,
                "delivered": self.send.delivered,
                "expected": self.send.expected,
                "secs": self.send.secs,
                "deliveries_per_s": self.rate(),
                "latency_p50_ms": self.send.p50_us as f64 / 1e3,
                "latency_p99_ms": self.send.p99_us as f64 / 1e3,
                "latency_max_ms": self.send.max_us as f64 / 1e3,
                "refused": self.send.refused,
                "other_events": self.send.other_events,
                "closed": self.send.closed,
                "timed_out": self.send.timed_out,
                "server_cpu_ms": self.send.cpu.server_us.map(|u| u as f64 / 1e3),
                "server_cpu_us_per_delivery": self.cpu_per_delivery(),
                "nats_cpu_ms": self.send.cpu.nats_us.map(|u| u as f64 / 1e3),
                "nats_cpu_us_per_delivery": self.nats_cpu_per_delivery(),
                "load_cpu_us_per_delivery": per(self.send.cpu.load_us as f64, self.send.delivered as f64),
                "others_cpu_ms": self.send.cpu.others_us as f64 / 1e3,
                "others_cpu_share": self.others_share(),
            },
            "memory": {
                "rss_before_kib": self.known().then_some(self.join.rss_before_kib),
                "rss_joined_kib": self.known().then_some(self.join.rss_joined_kib),
                "idle_kib_per_connection": self.known().then_some(self.idle_kib()),
                "kernel_kib_per_connection": self.kernel_kib(),
                "with_kernel_kib_per_connection": self.idle_kib_with_kernel(),
                "peak_rss_kib": self.known().then_some(self.hwm_kib),
            },
            "machine": {
                "cpus": self.cpus,
                "loadavg_before": self.loadavg[0],
                "loadavg_after": self.loadavg[1],
            },
            "violations": {
                "lost": v.lost,
                "duplicated": v.duplicated,
                "reordered": v.reordered,
                "malformed": v.malformed,
            },
            "clean": self.clean(),
            "complete": self.complete(),
        })
    }

    /// The rows of the human table: (label, value as text, value as a number
    /// for ratios).
    fn rows(&self) -> Vec<(&'static str, String, Option<f64>)> {
        let ms = |us: u64| format!("{:.2} ms", us as f64 / 1e3);
        let num = |us: u64| Some(us as f64);
        let v = &self.send.violations;
        let known = |on: bool, text: String| if on { text } else { "-".into() };
        vec![
            ("nodes", self.nodes_text(), None),
            (
                "joined",
                format!("{} of {}", self.join.joined, self.load.clients),
                None,
            ),
            ("busy refusals (retried)", self.join.busy.to_string(), None),
            (
                "join time, all N",
                format!("{:.2} s", self.join.secs),
                Some(self.join.secs),
            ),
            (
                "one join p50 / p99",
                format!("{} / {}", ms(self.join.p50_us), ms(self.join.p99_us)),
                num(self.join.p50_us),
            ),
            (
                "presence events (join)",
                self.join.presence_events.to_string(),
                Some(self.join.presence_events as f64),
            ),
            (
                "presence settled after",
                format!("{:.2} s", self.join.settle_secs),
                None,
            ),
            (
                "server CPU, join phase",
                known(
                    self.join.cpu.server_us.is_some(),
                    format!(
                        "{:.0} ms",
                        self.join.cpu.server_us.unwrap_or(0) as f64 / 1e3
                    ),
                ),
                self.join.cpu.server_us.map(|u| u as f64),
            ),
            (
                "deliveries",
                format!("{} of {}", self.send.delivered, self.send.expected),
                None,
            ),
            (
                "deliveries/s",
                format!("{:.0}", self.rate()),
                Some(self.rate()),
            ),
            ("latency p50", ms(self.send.p50_us), num(self.send.p50_us)),
            ("latency p99", ms(self.send.p99_us), num(self.send.p99_us)),
            ("latency max", ms(self.send.max_us), num(self.send.max_us)),
            (
                "server CPU µs/delivery",
                known(
                    self.known(),
                    format!("{:.2}", self.cpu_per_delivery().unwrap_or(0.0)),
                ),
                self.cpu_per_delivery(),
            ),
            (
                "nats-server CPU µs/deliv.",
                known(
                    self.send.cpu.nats_us.is_some(),
                    format!("{:.2}", self.nats_cpu_per_delivery().unwrap_or(0.0)),
                ),
                None,
            ),
            (
                "bench CPU µs/delivery",
                format!(
                    "{:.2}",
                    per(self.send.cpu.load_us as f64, self.send.delivered as f64)
                ),
                None,
            ),
            (
                "server RSS before joins",
                known(self.known(), format!("{} KiB", self.join.rss_before_kib)),
                None,
            ),
            (
                "server idle KiB/conn",
                known(self.known(), format!("{:.1}", self.idle_kib())),
                self.known().then_some(self.idle_kib()),
            ),
            (
                "+ kernel, KiB/conn",
                match self.idle_kib_with_kernel() {
                    Some(all) => {
                        format!("{all:.1} (+{:.1})", self.kernel_kib().unwrap_or_default())
                    }
                    None => "-".into(),
                },
                self.idle_kib_with_kernel(),
            ),
            (
                "server peak RSS",
                known(self.known(), format!("{} KiB", self.hwm_kib)),
                self.known().then_some(self.hwm_kib as f64),
            ),
            (
                "others' CPU, send phase",
                format!("{:.0} % of {} CPUs", 100.0 * self.others_share(), self.cpus),
                None,
            ),
            (
                "loadavg before / after",
                format!("{:.2} / {:.2}", self.loadavg[0][0], self.loadavg[1][0]),
                None,
            ),
            (
                "refused / closed",
                format!("{} / {}", self.send.refused, self.send.closed),
                None,
            ),
            (
                "lost / dup / reordered",
                format!("{} / {} / {}", v.lost, v.duplicated, v.reordered),
                None,
            ),
            ("malformed", v.malformed.to_string(), None),
        ]
    }

    /// One line naming the load.
    pub fn title(&self) -> String {
        let pace = match self.load.pace {
            Pace::Window(w) => format!("window {w}"),
            Pace::Rate(r) => format!("{r:.0} msg/s"),
        };
        let rooms = if self.load.rooms > 1 {
            format!(" in R = {} rooms", self.load.rooms)
        } else {
            String::new()
        };
        format!(
            "N = {} clients{rooms}, S = {} senders × M = {} messages of {} B, {pace}, {}",
            self.load.clients,
            self.load.senders,
            self.load.messages,
            self.load.size,
            if self.password {
                "with a password"
            } else {
                "no password"
            }
        )
    }

    /// The human table of one run.
    pub fn table(&self) -> String {
        let mut out = format!("{} — {}\n", self.server, self.title());
        for (label, value, _) in self.rows() {
            out.push_str(&format!("  {label:<26} {value}\n"));
        }
        out.push_str(&self.verdict());
        out
    }

    /// The closing line: clean or what went wrong.
    fn verdict(&self) -> String {
        let mut out = String::new();
        if !self.clean() {
            out.push_str(&format!("  VIOLATIONS: {:?}\n", self.send.violations));
        }
        if let Some(e) = &self.join.first_error {
            out.push_str(&format!(
                "  {} joins failed; the first: {e}\n",
                self.join.failed
            ));
        }
        if self.join.timed_out || self.send.timed_out {
            out.push_str("  a phase hit its time limit (raise --join-limit / --send-limit, or lower the load)\n");
        }
        out
    }
}
