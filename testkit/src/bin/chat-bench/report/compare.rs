//! Several runs of one load side by side: chatd's figures as multiples of
//! each reference server's, as a table and as JSON.

use serde_json::{Value, json};

use super::Report;

/// chatd's figures as multiples of a reference server's.
fn ratios(chatd: &Report, reference: &Report) -> Value {
    let r = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    json!({
        "join_secs": r(Some(chatd.join.secs), Some(reference.join.secs)),
        "deliveries_per_s": r(Some(chatd.rate()), Some(reference.rate())),
        "latency_p50": r(Some(chatd.send.p50_us as f64), Some(reference.send.p50_us as f64)),
        "latency_p99": r(Some(chatd.send.p99_us as f64), Some(reference.send.p99_us as f64)),
        "server_cpu_us_per_delivery": r(chatd.cpu_per_delivery(), reference.cpu_per_delivery()),
        "idle_kib_per_connection": r(Some(chatd.idle_kib()), Some(reference.idle_kib())),
        "with_kernel_kib_per_connection": r(chatd.idle_kib_with_kernel(), reference.idle_kib_with_kernel()),
        "peak_rss": r(Some(chatd.hwm_kib as f64), Some(reference.hwm_kib as f64)),
    })
}

/// Several runs of one load as one JSON object: each run under its
/// server's name (`chatd`, `reference`, `floor`), and chatd's ratios to
/// each reference that ran: `ratios` to the relay (`reference`), as
/// before the floor existed, and `floor_ratios` to the floor.
pub fn json_of_runs(runs: &[Report]) -> Value {
    let mut all = serde_json::Map::new();
    for run in runs {
        all.insert(run.server.clone(), run.json());
    }
    if let Some(chatd) = runs.iter().find(|r| r.server == "chatd") {
        for run in runs.iter().filter(|r| r.server != "chatd") {
            let key = match run.server.as_str() {
                "reference" => "ratios".to_string(),
                other => format!("{other}_ratios"),
            };
            all.insert(key, ratios(chatd, run));
        }
    }
    Value::Object(all)
}

/// The runs side by side, the first one's figures then each other's, and
/// the first's as a multiple of each other's (`÷ floor`).
pub fn compare_table(base: &Report, others: &[Report]) -> String {
    let mut out = format!("{}\n  {:<26} {:>20}", base.title(), "", base.server);
    for o in others {
        out.push_str(&format!(" {:>20}", o.server));
    }
    let heads: Vec<String> = others.iter().map(|o| format!("÷ {}", o.server)).collect();
    for head in &heads {
        out.push_str(&format!(" {head:>9}"));
    }
    out.push('\n');
    let other_rows: Vec<_> = others.iter().map(Report::rows).collect();
    for (i, (label, a, x)) in base.rows().into_iter().enumerate() {
        out.push_str(&format!("  {label:<26} {a:>20}"));
        for rows in &other_rows {
            out.push_str(&format!(" {:>20}", rows[i].1));
        }
        for (rows, head) in other_rows.iter().zip(&heads) {
            let ratio = match (x, rows[i].2) {
                (Some(x), Some(y)) if y > 0.0 => format!("{:.2}×", x / y),
                _ => String::new(),
            };
            let width = head.chars().count().max(9);
            out.push_str(&format!(" {ratio:>width$}"));
        }
        out.push('\n');
    }
    out.push_str(&base.verdict());
    for o in others {
        out.push_str(&o.verdict());
    }
    out
}
