//! What ships around chatd's metrics, checked against their catalogue
//! (docs/operations.md, "Monitoring", the one place that names them; read
//! by packaging/check-metrics.py): the catalogue itself and the contract
//! names in it, the Grafana dashboard, the Prometheus alert rules (with
//! promtool and their unit tests), and the checker that reads a scrape
//! with the Prometheus client's own parser, as the daemon's scrape tests
//! do.
//!
//! Needs Debian's `/usr/bin/python3` with `python3-prometheus-client` and
//! `python3-yaml`, and promtool (`packaging/get-promtool.sh`); `.ci/run`
//! provides all three.

use std::collections::BTreeSet;
use std::process::Output;

use chat_protocol::{ErrorCode, RejectCode};
use serde_json::Value;
use testkit::monitoring::{promtool, workspace};

/// `packaging/check-metrics.py ARGS…`, run from the workspace's top.
fn check_metrics(args: &[&str]) -> Output {
    testkit::monitoring::check_metrics(args, "")
}

/// stdout of a check that must pass, as JSON.
fn passes(args: &[&str]) -> Value {
    let out = check_metrics(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check-metrics.py {args:?} failed ({}):\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// stderr of a check that must find problems (exit 1).
fn fails(args: &[&str]) -> String {
    let out = check_metrics(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("Traceback"), "{stderr}");
    stderr
}

fn promtool_passes(args: &[&str]) {
    let out = promtool().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The wire names of every `Reject` code (a new code fails to compile
/// here until it is listed, and the catalogue then needs it too).
fn reject_codes() -> Vec<String> {
    use RejectCode::*;
    let all = [
        ServerFull,
        BadPassword,
        NameInvalid,
        NameTaken,
        BadRequest,
        Busy,
        Throttled,
        NameRegistered,
        BadIdentity,
        Banned,
    ];
    for code in all {
        match code {
            ServerFull | BadPassword | NameInvalid | NameTaken | BadRequest | Busy | Throttled
            | NameRegistered | BadIdentity | Banned | Other => {}
        }
    }
    all.iter().map(wire_name).collect()
}

/// The wire names of every `error` event code, `other` included (the log
/// refusing a message is told as `other`).
fn error_codes() -> Vec<String> {
    use ErrorCode::*;
    let all = [
        TextTooLong,
        TextInvalid,
        RateLimited,
        NoSuchUser,
        BadEvent,
        NotOwner,
        TooManyKeys,
        LastKey,
        NamesOpen,
        NotOperator,
        Forbidden,
        Muted,
        NotBanned,
        NotMuted,
        RoomInvalid,
        NoSuchRoom,
        NotInRoom,
        TooManyRooms,
        CannotPart,
        Other,
    ];
    for code in all {
        match code {
            TextTooLong | TextInvalid | RateLimited | NoSuchUser | BadEvent | NotOwner
            | TooManyKeys | LastKey | NamesOpen | NotOperator | Forbidden | Muted | NotBanned
            | NotMuted | RoomInvalid | NoSuchRoom | NotInRoom | TooManyRooms | CannotPart
            | Other => {}
        }
    }
    all.iter().map(wire_name).collect()
}

fn wire_name(code: &impl serde::Serialize) -> String {
    serde_json::to_value(code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// The values of `metric{label}` in force now (not those marked later).
fn values_now(catalogue: &Value, metric: &str, label: &str) -> BTreeSet<String> {
    catalogue[metric]["values"][label]["now"]
        .as_array()
        .unwrap_or_else(|| panic!("{metric}{{{label}}} has a closed set of values"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Every value of `metric{label}`, those marked later included.
fn values_all(catalogue: &Value, metric: &str, label: &str) -> BTreeSet<String> {
    let later = catalogue[metric]["values"][label]["later"]
        .as_array()
        .unwrap();
    let mut all = values_now(catalogue, metric, label);
    all.extend(later.iter().map(|v| v.as_str().unwrap().to_string()));
    all
}

#[test]
fn the_catalogue_is_consistent_and_holds_the_contract_names() {
    let catalogue = passes(&["catalogue", "--json"]);
    let metric = |name: &str| {
        let m = &catalogue[name];
        assert!(m.is_object(), "{name} is catalogued");
        (
            m["type"].as_str().unwrap().to_string(),
            m["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
            m["exposed"].as_str().unwrap().to_string(),
        )
    };
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // DESIGN.md's names, as written.
    let (kind, labels, _) = metric("chatd_build_info");
    assert_eq!(kind, "info");
    assert_eq!(labels, strings(&["version", "protocol"]));
    assert_eq!(metric("chatd_users_online").0, "gauge");
    assert!(metric("chatd_users_online").1.is_empty());
    assert_eq!(
        metric("chatd_joins_total"),
        ("counter".into(), strings(&["outcome"]), "always".into())
    );
    assert_eq!(
        metric("chatd_messages_total"),
        ("counter".into(), strings(&["kind"]), "always".into())
    );
    assert_eq!(
        values_now(&catalogue, "chatd_messages_total", "kind"),
        ["say", "action", "dm"].map(String::from).into()
    );
    assert_eq!(
        metric("chatd_deliveries_total"),
        ("counter".into(), Vec::new(), "always".into())
    );

    // Every outcome a join can have: welcome or a Reject code (those of
    // features chatd does not have yet marked later).
    let outcomes = values_all(&catalogue, "chatd_joins_total", "outcome");
    assert!(values_now(&catalogue, "chatd_joins_total", "outcome").contains("welcome"));
    for code in reject_codes() {
        assert!(
            outcomes.contains(&code),
            "chatd_joins_total{{outcome={code:?}}}"
        );
    }
    for code in error_codes() {
        assert!(
            values_all(&catalogue, "chatd_messages_refused_total", "code").contains(&code),
            "chatd_messages_refused_total{{code={code:?}}}"
        );
    }

    // No label could hold a user's name or address.
    for (name, m) in catalogue.as_object().unwrap() {
        for label in m["labels"].as_array().unwrap() {
            let label = label.as_str().unwrap();
            assert!(
                ![
                    "name", "user", "username", "address", "addr", "peer", "ip", "key_id"
                ]
                .contains(&label),
                "{name}{{{label}}}"
            );
            let open = m["values"][label].is_null();
            assert!(
                !open || ["version", "room"].contains(&label),
                "{name}{{{label}}}: only the version and an admin's rooms are open sets"
            );
        }
    }

    // Per-room series only behind metrics_per_room, the cluster's only in one.
    for name in ["chatd_room_members", "chatd_room_messages_total"] {
        assert_eq!(metric(name).1, strings(&["room"]));
        assert_eq!(metric(name).2, "per room");
    }
    for name in [
        "chatd_nats_connected",
        "chatd_nats_reconnects_total",
        "chatd_nats_publish_duration_seconds",
        "chatd_cluster_name_conflicts_total",
        "chatd_cluster_peers",
    ] {
        assert_eq!(metric(name).2, "cluster", "{name}");
    }
}

#[test]
fn the_dashboard_shows_what_an_operator_needs_from_catalogued_metrics_only() {
    let used = passes(&["dashboard", "packaging/grafana/chatd.json", "--json"]);
    let used: BTreeSet<&str> = used["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for (panel, metric) in [
        ("online", "chatd_users_online"),
        ("joins and refusals by outcome", "chatd_joins_total"),
        ("handshake failures", "chatd_handshakes_failed_total"),
        ("messages per second", "chatd_messages_total"),
        ("deliveries per second", "chatd_deliveries_total"),
        ("handshake latency", "chatd_handshake_duration_seconds"),
        ("join latency", "chatd_join_duration_seconds"),
        ("append latency", "chatd_log_append_duration_seconds"),
        ("slow-client cuts", "chatd_sessions_ended_total"),
        ("slow-client drops", "chatd_events_dropped_total"),
        ("argon2 running", "chatd_argon2_running"),
        ("argon2 waiting", "chatd_argon2_waiting"),
        ("argon2 refused busy", "chatd_argon2_refused_busy_total"),
        ("guesses throttled", "chatd_guess_blocks_total"),
        ("per-address refusals", "chatd_connections_refused_total"),
        ("NATS connected", "chatd_nats_connected"),
        ("NATS reconnects", "chatd_nats_reconnects_total"),
        (
            "NATS publish latency",
            "chatd_nats_publish_duration_seconds",
        ),
        ("build info", "chatd_build_info"),
    ] {
        assert!(used.contains(metric), "no panel shows {panel} ({metric})");
    }

    // The checker would see a mistake: a misspelt metric, a label it lacks.
    let board = std::fs::read_to_string(workspace().join("packaging/grafana/chatd.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (from, to, says) in [
        (
            "sum(chatd_users_online{",
            "sum(chatd_user_online{",
            "chatd_user_online is not in the catalogue",
        ),
        (
            "sum by (outcome) (rate(chatd_joins_total{",
            "sum by (kind) (rate(chatd_joins_total{",
            "has the label kind",
        ),
    ] {
        assert!(board.contains(from), "{from}");
        let path = tmp.path().join("board.json");
        std::fs::write(&path, board.replacen(from, to, 1)).unwrap();
        let err = fails(&["dashboard", path.to_str().unwrap()]);
        assert!(err.contains(says), "{says:?} in {err}");
    }
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let rules = "packaging/prometheus/chatd-alerts.yml";
    let tests = "packaging/prometheus/chatd-alerts.test.yml";
    let checked = passes(&["alerts", rules, "--tests", tests, "--json"]);
    for alert in [
        "ChatdDown",
        "ChatdNatsUnreachable",
        "ChatdJoinRefusalsSpiking",
        "ChatdSlowClientCuts",
    ] {
        assert!(checked["alerts"][alert].is_object(), "{alert} in {checked}");
    }
    promtool_passes(&["check", "rules", rules]);
    promtool_passes(&["test", "rules", tests]);
}

/// A scrape as prometheus-client 0.26 writes it (`encoding::prometheus_text`,
/// or `encoding::text` for OpenMetrics): a few families, with the join
/// histogram's buckets from the catalogue.
fn scrape(openmetrics: bool, catalogue: &Value) -> String {
    let mut text = String::new();
    if openmetrics {
        text.push_str(
            "# HELP chatd_build chatd's version and protocol.\n\
             # TYPE chatd_build info\n\
             chatd_build_info{version=\"0.1.0\",protocol=\"1\"} 1\n\
             # HELP chatd_joins Joins decided, by outcome.\n\
             # TYPE chatd_joins counter\n",
        );
    } else {
        text.push_str(
            "# HELP chatd_build_info chatd's version and protocol.\n\
             # TYPE chatd_build_info gauge\n\
             chatd_build_info{version=\"0.1.0\",protocol=\"1\"} 1\n\
             # HELP chatd_joins_total Joins decided, by outcome.\n\
             # TYPE chatd_joins_total counter\n",
        );
    }
    text.push_str(
        "chatd_joins_total{outcome=\"welcome\"} 3\n\
         chatd_joins_total{outcome=\"bad_password\"} 1\n\
         # HELP chatd_users_online Users joined to this node.\n\
         # TYPE chatd_users_online gauge\n\
         chatd_users_online 2\n\
         # HELP chatd_join_duration_seconds From the Auth to the Welcome or Reject.\n\
         # TYPE chatd_join_duration_seconds histogram\n",
    );
    if openmetrics {
        text.push_str("# UNIT chatd_join_duration_seconds seconds\n");
    }
    let buckets = catalogue["chatd_join_duration_seconds"]["buckets"]
        .as_array()
        .unwrap();
    for (i, le) in buckets.iter().enumerate() {
        let count = if i < 4 { i } else { 4 };
        text.push_str(&format!(
            "chatd_join_duration_seconds_bucket{{le=\"{}\"}} {count}\n",
            le.as_f64().unwrap()
        ));
    }
    text.push_str(
        "chatd_join_duration_seconds_bucket{le=\"+Inf\"} 4\n\
         chatd_join_duration_seconds_sum 0.0125\n\
         chatd_join_duration_seconds_count 4\n",
    );
    if openmetrics {
        text.push_str("# EOF\n");
    }
    text
}

#[test]
fn the_checker_reads_a_scrape_in_both_formats_and_names_what_is_wrong() {
    let catalogue = passes(&["catalogue", "--json"]);
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    for openmetrics in [false, true] {
        let text = scrape(openmetrics, &catalogue);
        let file = write("scrape.txt", &text);
        let samples = passes(&["exposition", &file, "--json"]);
        let value = |name: &str, labels: Value| {
            samples["samples"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name && s["labels"] == labels)
                .map(|s| s["value"].as_f64().unwrap())
                .unwrap_or_else(|| panic!("{name} {labels} in {samples}"))
        };
        assert_eq!(
            value(
                "chatd_joins_total",
                serde_json::json!({"outcome": "welcome"})
            ),
            3.0
        );
        assert_eq!(value("chatd_users_online", serde_json::json!({})), 2.0);
        assert_eq!(
            value("chatd_join_duration_seconds_count", serde_json::json!({})),
            4.0
        );
        if !openmetrics {
            // Prometheus's own parser agrees (it reads the 0.0.4 text).
            let out = promtool()
                .args(["check", "metrics"])
                .stdin(std::fs::File::open(&file).unwrap())
                .output()
                .unwrap();
            assert!(out.status.success(), "promtool check metrics: {out:?}");
        }

        // Not all of chatd's metrics: --complete names what is missing.
        let err = fails(&["exposition", &file, "--complete"]);
        for says in [
            "chatd_deliveries_total: catalogued as exposed always, but absent",
            "chatd_joins_total{outcome=\"name_taken\"}: absent",
        ] {
            assert!(err.contains(says), "{says:?} in {err}");
        }
        assert!(!err.contains("chatd_nats_connected"), "{err}");

        // (what is replaced, by what, what the checker says of the 0.0.4
        // text, of OpenMetrics)
        for (from, to, text_says, om_says) in [
            (
                "chatd_users_online 2",
                "chatd_users_online{name=\"ace\"} 2",
                "chatd_users_online: labels ['name'], catalogued []",
                "chatd_users_online: labels ['name'], catalogued []",
            ),
            (
                "outcome=\"bad_password\"",
                "outcome=\"wrong\"",
                "'wrong' is not among the catalogued values",
                "'wrong' is not among the catalogued values",
            ),
            (
                "chatd_join_duration_seconds_bucket{le=\"0.001\"} 0\n",
                "",
                "chatd_join_duration_seconds{}: buckets",
                "chatd_join_duration_seconds{}: buckets",
            ),
            (
                "chatd_users_online 2",
                "chatd_users_online two",
                "does not parse as the text format 0.0.4",
                "does not parse as OpenMetrics",
            ),
            (
                "# TYPE chatd_users_online gauge\nchatd_users_online 2\n",
                "# TYPE chatd_user_online gauge\nchatd_user_online 2\n",
                "chatd_user_online (gauge): not in the catalogue",
                "chatd_user_online (gauge): not in the catalogue",
            ),
            (
                // A counter without _total: 0.0.4 reads it, OpenMetrics not.
                "gauge\nchatd_users_online 2",
                "counter\nchatd_users_online 2",
                "chatd_users_online: exposed as a counter, catalogued as a gauge",
                "does not parse as OpenMetrics",
            ),
        ] {
            assert!(text.contains(from), "{from:?}");
            let file = write("broken.txt", &text.replacen(from, to, 1));
            let err = fails(&["exposition", &file]);
            let says = if openmetrics { om_says } else { text_says };
            assert!(err.contains(says), "{says:?} in {err}");
        }
    }
    // OpenMetrics states each unit.
    let text = scrape(true, &catalogue).replace("# UNIT chatd_join_duration_seconds seconds\n", "");
    let err = fails(&["exposition", &write("nounit.txt", &text)]);
    assert!(err.contains("OpenMetrics unit ''"), "{err}");
}
