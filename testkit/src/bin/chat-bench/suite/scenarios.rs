//! The suite's scenarios: the goals of issue 29, each read against the
//! floor in the same run (`--compare --reference floor`), and the table
//! each prints. A scenario's cases are fixed here so that the tables of
//! docs/performance.md can be made again exactly; `--smoke` shrinks them.

use std::fmt::Write as _;

use super::stats::Line;
use super::{Case, Options, Outcome, number};

/// A table of docs/performance.md and the runs that make it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Server CPU µs per delivery, saturated, at N = 1 000 and 10 000.
    Cpu,
    /// p50 / p99 latency at a fixed 10 000 deliveries/s, N = 1 000 and 100.
    Latency,
    /// Idle memory per joined connection (N = 1 000), by chat-bench's
    /// clients and by clients with default socket settings (64 joins at a
    /// time, and all at once).
    Memory,
    /// Join storms: 1 000 without and with a password, 10 000.
    Joins,
    /// Memory and join time at 1 000, 5 000, 10 000, 18 000 connections,
    /// and the straight line through them.
    Scale,
}

/// How long a fixed-rate latency run sends, seconds.
const LATENCY_SECS: u64 = 20;
/// The fixed load of the latency table, deliveries per second.
const DELIVERIES_PER_S: u64 = 10_000;

impl Scenario {
    /// Every scenario, in the order of docs/performance.md.
    pub const ALL: [Scenario; 5] = [
        Scenario::Cpu,
        Scenario::Latency,
        Scenario::Memory,
        Scenario::Joins,
        Scenario::Scale,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Cpu => "cpu",
            Scenario::Latency => "latency",
            Scenario::Memory => "memory",
            Scenario::Joins => "joins",
            Scenario::Scale => "scale",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Scenario::Cpu => "Server CPU per delivery, saturated (S = 10, window 32)",
            Scenario::Latency => "Latency at a fixed 10 000 deliveries/s (S = 10)",
            Scenario::Memory => "Idle memory per joined connection",
            Scenario::Joins => "Join storms (64 joins in flight)",
            Scenario::Scale => "Memory and join time as connections grow",
        }
    }

    /// Its cases; `smoke`: tiny ones.
    pub fn cases(self, smoke: bool) -> Vec<Case> {
        let n = |x: u64| if smoke { (x / 100).max(4) } else { x };
        let vs_floor = ["--compare", "--reference", "floor"];
        let storm = |x: u64, extra: &[&str]| {
            let (nn, limit) = (n(x).to_string(), if smoke { "60" } else { "600" });
            let mut args = vec!["-n", &nn, "-s", "1", "-m", "1", "--join-limit", limit];
            args.extend_from_slice(&vs_floor);
            args.extend_from_slice(extra);
            Case::new(format!("N = {}", group(n(x))), n(x), &args)
        };
        match self {
            Scenario::Cpu => [(1_000, 100), (10_000, 50)]
                .iter()
                .map(|&(x, m)| {
                    let (nn, mm) = (n(x).to_string(), if smoke { 10 } else { m }.to_string());
                    let mut args = vec!["-n", &nn, "-s", "10", "-m", &mm, "--join-limit", "600"];
                    args.extend_from_slice(&vs_floor);
                    Case::new(format!("N = {}", group(n(x))), n(x), &args)
                })
                .collect(),
            Scenario::Latency => [1_000, 100]
                .iter()
                .map(|&x| {
                    let clients = n(x);
                    let senders = clients.min(10);
                    let rate = DELIVERIES_PER_S / clients;
                    let secs = if smoke { 2 } else { LATENCY_SECS };
                    let m = (rate * secs / senders).max(1);
                    let (nn, ss, mm, rr) = (
                        clients.to_string(),
                        senders.to_string(),
                        m.to_string(),
                        rate.to_string(),
                    );
                    let mut args = vec!["-n", &nn, "-s", &ss, "-m", &mm, "--rate", &rr];
                    args.extend_from_slice(&vs_floor);
                    Case::new(format!("N = {}", group(clients)), clients, &args)
                })
                .collect(),
            Scenario::Memory => vec![
                storm(1_000, &[]).labelled(", chat-bench's clients"),
                storm(1_000, &["--client-sockets", "default"])
                    .labelled(", clients with default socket settings"),
                // What the allocator keeps of a storm depends on how many
                // joins run at once: an independent client may open all.
                storm(
                    1_000,
                    &["--client-sockets", "default", "--join-concurrency", "1000"],
                )
                .labelled(", default socket settings, all joining at once"),
            ],
            Scenario::Joins => vec![
                storm(1_000, &[]).labelled(", no password"),
                storm(1_000, &["--password"]).labelled(", with a password"),
                storm(10_000, &[]).labelled(", no password"),
            ],
            Scenario::Scale => [1_000, 5_000, 10_000, 18_000]
                .iter()
                .map(|&x| storm(x, &[]).once())
                .collect(),
        }
    }

    /// Its markdown: a heading, the commands, the table, what went wrong.
    pub fn render(self, cases: &[Case], outcomes: &[Outcome], opts: &Options) -> String {
        let table = match self {
            Scenario::Cpu => cpu(cases, outcomes),
            Scenario::Latency => latency(cases, outcomes),
            Scenario::Memory => memory(cases, outcomes),
            Scenario::Joins => joins(cases, outcomes),
            Scenario::Scale => scale(cases, outcomes),
        };
        let mut out = format!("### {}\n\n", self.title());
        let runs = outcomes.iter().map(Outcome::count).max().unwrap_or(0);
        let _ = writeln!(
            out,
            "{}, commit `{}`; {}; each row's command:\n",
            super::stats::today(),
            opts.commit,
            if runs > 1 {
                format!("median of {runs} runs")
            } else {
                "one run".into()
            }
        );
        for case in cases {
            let _ = writeln!(out, "- {}: `{}`", case.label, case.command(opts));
        }
        out.push('\n');
        out.push_str(&table);
        for (case, outcome) in cases.iter().zip(outcomes) {
            for problem in &outcome.problems {
                let _ = writeln!(out, "\n**{}: {problem}**", case.label);
            }
        }
        out
    }
}

impl Case {
    /// Adds `more` to its label.
    fn labelled(mut self, more: &str) -> Self {
        self.label.push_str(more);
        self
    }
}

/// A markdown table.
fn table(head: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut out = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// `x` with thin groups of three digits (`18 000`).
fn group(x: u64) -> String {
    let digits = x.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A figure with `places` decimals, `–` when unknown.
fn fig(x: Option<f64>, places: usize) -> String {
    x.map_or("–".into(), |x| format!("{x:.places$}"))
}

/// A ratio (`1.85×`), `–` when unknown.
fn times(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.2}×"))
}

fn cpu(cases: &[Case], outcomes: &[Outcome]) -> String {
    let rows = cases
        .iter()
        .zip(outcomes)
        .map(|(case, o)| {
            vec![
                case.label.clone(),
                format!(
                    "{} / {}",
                    fig(o.median("chatd.send.server_cpu_us_per_delivery"), 2),
                    fig(o.median("floor.send.server_cpu_us_per_delivery"), 2)
                ),
                times(o.median("floor_ratios.server_cpu_us_per_delivery")),
                format!(
                    "{} / {}",
                    fig(o.median("chatd.send.deliveries_per_s"), 0),
                    fig(o.median("floor.send.deliveries_per_s"), 0)
                ),
                fig(o.median("chatd.send.load_cpu_us_per_delivery"), 2),
                fig(
                    o.median("chatd.send.others_cpu_share").map(|s| s * 100.0),
                    0,
                ),
            ]
        })
        .collect();
    table(
        &[
            "",
            "server CPU µs/delivery chatd / floor",
            "ratio (goal ≤ 2.0×)",
            "deliveries/s chatd / floor",
            "bench CPU µs/delivery (chatd run)",
            "others' CPU, % (chatd run)",
        ],
        rows,
    )
}

fn latency(cases: &[Case], outcomes: &[Outcome]) -> String {
    let ms = |o: &Outcome, path: &str| fig(o.median(path), 2);
    let rows = cases
        .iter()
        .zip(outcomes)
        .map(|(case, o)| {
            let p99s: Vec<f64> = o
                .runs
                .iter()
                .filter_map(|r| number(r, "floor_ratios.latency_p99"))
                .collect();
            let spread = match (
                p99s.iter().copied().reduce(f64::min),
                p99s.iter().copied().reduce(f64::max),
            ) {
                (Some(lo), Some(hi)) => format!("{lo:.2}–{hi:.2}×"),
                _ => "–".into(),
            };
            vec![
                case.label.clone(),
                format!(
                    "{} / {}",
                    ms(o, "chatd.send.latency_p50_ms"),
                    ms(o, "chatd.send.latency_p99_ms")
                ),
                format!(
                    "{} / {}",
                    ms(o, "floor.send.latency_p50_ms"),
                    ms(o, "floor.send.latency_p99_ms")
                ),
                times(o.median("floor_ratios.latency_p99")),
                spread,
                fig(o.median("chatd.send.server_cpu_us_per_delivery"), 2),
            ]
        })
        .collect();
    table(
        &[
            "",
            "chatd p50 / p99, ms",
            "floor p50 / p99, ms",
            "p99 ratio (goal ≤ 1.3×)",
            "p99 ratio, each run's lowest–highest",
            "chatd CPU µs/delivery",
        ],
        rows,
    )
}

fn memory(cases: &[Case], outcomes: &[Outcome]) -> String {
    let rows = cases
        .iter()
        .zip(outcomes)
        .map(|(case, o)| {
            vec![
                case.label.clone(),
                fig(o.median("chatd.memory.idle_kib_per_connection"), 1),
                fig(o.median("chatd.memory.kernel_kib_per_connection"), 1),
                fig(o.median("chatd.memory.with_kernel_kib_per_connection"), 1),
                fig(o.median("floor.memory.idle_kib_per_connection"), 1),
                fig(o.median("floor.memory.with_kernel_kib_per_connection"), 1),
            ]
        })
        .collect();
    table(
        &[
            "clients",
            "chatd KiB/conn, RSS (goal ≤ 10)",
            "chatd's sockets in the kernel, KiB/conn",
            "chatd RSS + sockets",
            "floor KiB/conn, RSS",
            "floor RSS + sockets",
        ],
        rows,
    )
}

fn joins(cases: &[Case], outcomes: &[Outcome]) -> String {
    let goals = ["≤ 2× the floor", "≤ 3× the floor, no busy", "≤ 2 s"];
    let rows = cases
        .iter()
        .zip(outcomes)
        .zip(goals)
        .map(|((case, o), goal)| {
            vec![
                case.label.clone(),
                fig(o.median("chatd.join.secs"), 3),
                fig(o.median("floor.join.secs"), 3),
                times(o.median("floor_ratios.join_secs")),
                goal.to_string(),
                fig(o.median("chatd.join.busy_refusals"), 0),
                format!(
                    "{} / {}",
                    fig(o.median("chatd.join.per_join_p50_ms"), 1),
                    fig(o.median("chatd.join.per_join_p99_ms"), 1)
                ),
                fig(o.median("chatd.join.server_cpu_ms").map(|ms| ms / 1e3), 2),
            ]
        })
        .collect();
    table(
        &[
            "",
            "chatd: all joined in, s",
            "floor, s",
            "ratio",
            "goal",
            "busy refusals (retried)",
            "one join p50 / p99, ms",
            "chatd CPU in the joins, s",
        ],
        rows,
    )
}

fn scale(cases: &[Case], outcomes: &[Outcome]) -> String {
    let mut memory = Vec::new();
    let mut joins = Vec::new();
    let rows = cases
        .iter()
        .zip(outcomes)
        .map(|(case, o)| {
            let joined = o.median("chatd.join.joined");
            let grown = o
                .median("chatd.memory.rss_joined_kib")
                .zip(o.median("chatd.memory.rss_before_kib"))
                .map(|(a, b)| a - b);
            let secs = o.median("chatd.join.secs");
            if let (Some(n), Some(kib)) = (joined, grown) {
                memory.push((n, kib));
            }
            if let (Some(n), Some(s)) = (joined, secs) {
                joins.push((n, s));
            }
            vec![
                case.label.clone(),
                fig(grown.map(|k| k / 1024.0), 1),
                fig(o.median("chatd.memory.idle_kib_per_connection"), 1),
                fig(secs, 3),
                fig(secs.zip(joined).map(|(s, n)| s * 1e3 / n), 3),
                fig(o.median("floor.memory.idle_kib_per_connection"), 1),
                fig(o.median("floor.join.secs"), 3),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "",
            "chatd RSS growth, MiB",
            "chatd KiB/conn",
            "chatd joins, s",
            "chatd ms per join",
            "floor KiB/conn",
            "floor joins, s",
        ],
        rows,
    );
    out.push('\n');
    out.push_str(&model("memory", "KiB", &memory));
    out.push_str(&model("join time", "s", &joins));
    out
}

/// The straight line through measured (connections, total) points, what
/// it predicts for 100 000, and how far the points stray from it (a total
/// that grows faster than the connections strays more at both ends).
fn model(what: &str, unit: &str, points: &[(f64, f64)]) -> String {
    let Some(line) = Line::fit(points) else {
        return format!("- {what}: too few points for a line\n");
    };
    let per = |total: f64| {
        if unit == "s" {
            format!("{:.3} ms per connection", total * 1e3)
        } else {
            format!("{total:.2} {unit} per connection")
        }
    };
    let at = line.at(100_000.0);
    // Per connection at the largest N ÷ at the smallest: 1× when linear
    // (a fixed part makes it a little less), above when it grows faster.
    let each = |&(n, total): &(f64, f64)| total / n;
    let growth = match (points.first(), points.last()) {
        (Some(small), Some(large)) if each(small) > 0.0 => each(large) / each(small),
        _ => f64::NAN,
    };
    format!(
        "- {what} ≈ {:.1} {unit} + {}; every point within {:.0} % of the line; \
         per connection at the largest N {growth:.2}× what it is at the smallest; \
         100 000 connections: {}\n",
        line.intercept,
        per(line.slope),
        line.worst_miss * 100.0,
        if unit == "s" {
            format!("{at:.0} s")
        } else {
            format!("{:.0} MiB", at / 1024.0)
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_of_three_digits() {
        assert_eq!(group(18_000), "18 000");
        assert_eq!(group(100), "100");
        assert_eq!(group(1_000_000), "1 000 000");
    }

    #[test]
    fn every_case_compares_with_the_floor_and_smoke_cases_stay_small() {
        for s in Scenario::ALL {
            for smoke in [false, true] {
                for case in s.cases(smoke) {
                    let args = case.args.join(" ");
                    assert!(args.contains("--compare --reference floor"), "{args}");
                    assert!(!smoke || case.clients <= 180, "{args}");
                }
            }
        }
        let latency = Scenario::Latency.cases(false);
        // 10 clients × 10 msg/s × 1 000 recipients, 20 s.
        assert_eq!(
            latency[0].args.join(" "),
            "-n 1000 -s 10 -m 20 --rate 10 --compare --reference floor"
        );
    }

    #[test]
    fn a_table_reads_medians_and_ratios() {
        let run = |cpu: f64| {
            json!({
                "chatd": {"send": {"server_cpu_us_per_delivery": cpu, "deliveries_per_s": 5e5,
                                   "load_cpu_us_per_delivery": 1.0, "others_cpu_share": 0.1}},
                "floor": {"send": {"server_cpu_us_per_delivery": 0.5, "deliveries_per_s": 9e5}},
                "floor_ratios": {"server_cpu_us_per_delivery": cpu / 0.5},
            })
        };
        let outcome = Outcome {
            runs: vec![run(1.0), run(1.2), run(0.9)],
            problems: Vec::new(),
        };
        let cases = Scenario::Cpu.cases(false);
        let text = cpu(&cases[..1], &[outcome]);
        assert!(
            text.contains("| N = 1 000 | 1.00 / 0.50 | 2.00× | 500000 / 900000 | 1.00 | 10 |"),
            "{text}"
        );
    }

    #[test]
    fn the_model_states_the_line_and_how_well_it_fits() {
        let text = model("memory", "KiB", &[(1e3, 12e3), (1e4, 120e3)]);
        assert!(
            text.contains("memory ≈ 0.0 KiB + 12.00 KiB per connection"),
            "{text}"
        );
        assert!(text.contains("100 000 connections: 1172 MiB"), "{text}");
        assert!(text.contains("largest N 1.00× what it is"), "{text}");
        // Quadratic join times: 10× the time per join at 10× the joins.
        let text = model("join time", "s", &[(1e3, 1.0), (1e4, 100.0)]);
        assert!(text.contains("largest N 10.00× what it is"), "{text}");
        let text = model("join time", "s", &[(1e3, 0.5), (1e4, 5.0)]);
        assert!(text.contains("0.500 ms per connection"), "{text}");
    }
}
