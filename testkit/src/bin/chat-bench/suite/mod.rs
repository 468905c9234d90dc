//! `chat-bench suite`: the runs behind every table of docs/performance.md,
//! so that they can be made again on another machine with one command
//! (`testkit/bench/all.sh`, which builds the release binaries and raises
//! the open-file limit first).
//!
//! Each scenario (`scenarios.rs`) is a list of cases; a case is one
//! chat-bench invocation, run as a child process of this one (a fresh
//! process each time, so no run inherits another's memory or sockets)
//! `--runs` times, with `--json`, the server and the load pinned to CPUs 0
//! and 1 when there are two or more. The figures of a case are the medians
//! over its runs (and a ratio is the median of each run's ratio: the two
//! servers of one run share the same minute of the machine). Each scenario
//! prints one markdown table, headed by the date, the commit and the
//! commands that made it. Every child has a time limit; one that passes it
//! is killed and its case says so.

pub mod scenarios;
mod stats;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use self::scenarios::Scenario;
use self::stats::median;

/// How the suite runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Runs of each case (the median is reported); scenarios that ask for
    /// one run (`scale`) take one.
    pub runs: u32,
    /// The commit measured, for the tables' headings.
    pub commit: String,
    /// The command that started the suite, for the headings.
    pub command: String,
    /// Pin the server to CPU 0 and the load to CPU 1 (needs 2 CPUs).
    pub pin: bool,
    /// Tiny loads (N ÷ 100, short runs): checks that every scenario runs
    /// and prints, in seconds; the figures mean nothing.
    pub smoke: bool,
    /// Where each run's JSON is written (`SCENARIO-CASE-RUN.json`).
    pub save: Option<PathBuf>,
    /// The open-file limit in force at the start (a case that needs more
    /// raises it if it may, or is skipped).
    pub nofile: u64,
}

/// One chat-bench invocation of a scenario.
#[derive(Clone, Debug)]
pub struct Case {
    /// Its row's label (`N = 1 000`).
    pub label: String,
    /// chat-bench's arguments (without `--json` and pinning).
    pub args: Vec<String>,
    /// Runs (before `--runs` caps it).
    pub runs: u32,
    /// The clients it opens (for the open-file check).
    pub clients: u64,
}

impl Case {
    /// A case of `clients` clients with `args`.
    pub fn new(label: impl Into<String>, clients: u64, args: &[&str]) -> Self {
        Case {
            label: label.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            runs: u32::MAX,
            clients,
        }
    }

    /// Runs it once only, whatever `--runs` says (long cases).
    pub fn once(mut self) -> Self {
        self.runs = 1;
        self
    }

    /// Its command line as the tables show it.
    pub fn command(&self, opts: &Options) -> String {
        let mut words = vec!["chat-bench".to_string()];
        words.extend(self.args.iter().cloned());
        words.extend(pin_args(opts));
        words.join(" ")
    }
}

/// What the runs of one case gave.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Each completed run's JSON.
    pub runs: Vec<Value>,
    /// What went wrong (a violation, an incomplete run, a run that could
    /// not start or was killed), for the notes under the table.
    pub problems: Vec<String>,
}

impl Outcome {
    /// The median over runs of the number at `path` (`chatd.join.secs`);
    /// `None` if no run has it.
    pub fn median(&self, path: &str) -> Option<f64> {
        median(self.runs.iter().filter_map(|r| number(r, path)).collect())
    }

    /// How many runs the medians are over.
    pub fn count(&self) -> usize {
        self.runs.len()
    }
}

/// The number at a dotted `path` of `v`.
pub fn number(v: &Value, path: &str) -> Option<f64> {
    path.split('.').try_fold(v, |v, key| v.get(key))?.as_f64()
}

/// The pinning flags the options ask for.
fn pin_args(opts: &Options) -> Vec<String> {
    if opts.pin {
        ["--pin-server", "0", "--pin-load", "1"]
            .map(String::from)
            .to_vec()
    } else {
        Vec::new()
    }
}

/// Runs the scenarios and prints their tables on stdout (progress on
/// stderr). Exit status: 0, or the worst of the runs' (1 a violation,
/// 3 incomplete, 2 a run that could not run or was killed).
pub fn run(scenarios: &[Scenario], opts: &Options) -> u8 {
    let mut worst = 0u8;
    println!("{}", heading(opts));
    for scenario in scenarios {
        let cases = scenario.cases(opts.smoke);
        let mut outcomes = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().enumerate() {
            let outcome = run_case(scenario.name(), i, case, opts);
            worst = worst.max(severity(&outcome));
            outcomes.push(outcome);
        }
        println!("{}", scenario.render(&cases, &outcomes, opts));
    }
    // 1 (a violation) is worse than 3 (incomplete), 2 (could not run) worst.
    [0, 3, 1, 2][worst as usize]
}

/// 0 fine, 1 incomplete, 2 a violation, 3 could not run: ordered by badness.
fn severity(outcome: &Outcome) -> u8 {
    outcome
        .problems
        .iter()
        .map(|p| match p.split(':').next() {
            Some("incomplete") => 1,
            Some("violation") => 2,
            _ => 3,
        })
        .max()
        .unwrap_or(0)
}

/// The lines above every table: when, what, where.
fn heading(opts: &Options) -> String {
    let pin = if opts.pin {
        "server pinned to CPU 0, bench to CPU 1"
    } else {
        "not pinned (fewer than 2 CPUs, or --no-pin)"
    };
    format!(
        "<!-- made by `{}` -->\nMeasured on {}, commit `{}`, {}; {} CPUs, {pin}; \
         load average {:.2} at the start; open-file limit {}.{}\n",
        opts.command,
        stats::today(),
        opts.commit,
        if cfg!(debug_assertions) {
            "DEBUG build (not figures to publish)"
        } else {
            "release build"
        },
        crate::proc::cpus(),
        crate::proc::loadavg()[0],
        opts.nofile,
        if opts.smoke {
            "\n\n**SMOKE RUN: tiny loads; these figures mean nothing.**"
        } else {
            ""
        }
    )
}

/// Runs one case its number of times.
fn run_case(scenario: &str, index: usize, case: &Case, opts: &Options) -> Outcome {
    let mut outcome = Outcome::default();
    // The bench's descriptors and, in its child, the server's.
    let need = case.clients + 1024;
    let limit = crate::proc::raise_nofile(need);
    if need > limit {
        outcome.problems.push(format!(
            "skipped: {} clients need {need} open files, the limit is {limit} \
             (raise the hard limit: ulimit -Hn, or LimitNOFILE=, as root)",
            case.clients
        ));
        return outcome;
    }
    let runs = case.runs.min(opts.runs).max(1);
    for run in 1..=runs {
        eprintln!(
            "suite: {scenario}, {}: run {run} of {runs}: {}",
            case.label,
            case.command(opts)
        );
        match run_child(case, opts) {
            Ok((code, json)) => {
                if let Some(dir) = &opts.save {
                    let file = dir.join(format!("{scenario}-{index}-{run}.json"));
                    if let Err(e) = std::fs::write(&file, json.to_string()) {
                        eprintln!("suite: writing {}: {e}", file.display());
                    }
                }
                match code {
                    0 => {}
                    1 => outcome.problems.push(format!(
                        "violation: run {run} found lost, duplicated or reordered messages"
                    )),
                    _ => outcome.problems.push(format!(
                        "incomplete: run {run} (joins failed or a phase hit its time limit)"
                    )),
                }
                outcome.runs.push(json);
            }
            Err(e) => outcome.problems.push(format!("failed: run {run}: {e}")),
        }
    }
    outcome
}

/// One child chat-bench: its exit status and JSON, killed past its time
/// limit (each server's join and send limits, and some to spare).
fn run_child(case: &Case, opts: &Options) -> Result<(i32, Value), String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding chat-bench itself: {e}"))?;
    let mut child = Command::new(exe)
        .args(&case.args)
        .args(pin_args(opts))
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting chat-bench: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let limit = time_limit(&case.args);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "killed after {} s (its time limit)",
                    limit.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for chat-bench: {e}")),
        }
    };
    let text = reader
        .join()
        .map_err(|_| "reading its output failed".to_string())?
        .map_err(|e| format!("reading its output: {e}"))?;
    let code = status.code().unwrap_or(2);
    if code == 2 {
        return Err("it could not run (its message is above)".into());
    }
    let json = serde_json::from_str(&text)
        .map_err(|e| format!("its output is not JSON ({e}): {text:.200}"))?;
    Ok((code, json))
}

/// A child's time limit: for each server it runs, its join and send
/// limits (chat-bench's defaults unless the case sets them) plus a minute.
fn time_limit(args: &[String]) -> Duration {
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    let servers = if args.iter().any(|a| a == "--compare") {
        1 + args
            .iter()
            .position(|a| a == "--reference")
            .and_then(|i| args.get(i + 1))
            .map_or(1, |kinds| kinds.split(',').count() as u64)
    } else {
        1
    };
    Duration::from_secs(servers * (flag("--join-limit", 120) + flag("--send-limit", 120) + 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_gets_each_servers_limits_and_a_minute() {
        let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(time_limit(&args("-n 10")), Duration::from_secs(300));
        assert_eq!(
            time_limit(&args("-n 10 --compare --reference floor --join-limit 600")),
            Duration::from_secs(2 * 780)
        );
        assert_eq!(
            time_limit(&args("--compare --reference relay,floor --send-limit 30")),
            Duration::from_secs(3 * 210)
        );
    }

    #[test]
    fn numbers_are_found_by_dotted_path_and_medians_taken() {
        let runs = [3.0, 1.0, 2.0].map(|x| serde_json::json!({"chatd": {"send": {"x": x}}}));
        let outcome = Outcome {
            runs: runs.to_vec(),
            problems: Vec::new(),
        };
        assert_eq!(outcome.median("chatd.send.x"), Some(2.0));
        assert_eq!(outcome.median("chatd.send.y"), None);
        assert_eq!(outcome.count(), 3);
    }
}
