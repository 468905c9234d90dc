//! Logging to stderr with `tracing`: colours only on a terminal, no
//! timestamps under journald (it adds its own); and the budget of lines
//! that anyone on the network can cause ([`line_budget`]). Every part of
//! chatd logs, so this folder uses none of them.

pub(crate) mod line_budget;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::reload;

/// A log filter that does not parse: `log_level = "…": …` or
/// `RUST_LOG=…: …`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Changes the log filter at run time (SIGHUP).
pub type FilterHandle = reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// The filter: `RUST_LOG` when set, else the configured level. The NATS
/// client's own lines are kept to warnings unless the filter names it:
/// chatd says what matters about the cluster's connection itself.
pub fn filter(level: &str) -> Result<EnvFilter, FilterError> {
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => {
            EnvFilter::try_new(&spec).map_err(|e| FilterError(format!("RUST_LOG={spec}: {e}")))
        }
        _ => {
            let spec = if level.contains("async_nats") {
                level.to_string()
            } else {
                format!("{level},async_nats=warn")
            };
            EnvFilter::try_new(&spec)
                .map_err(|e| FilterError(format!("log_level = \"{level}\": {e}")))
        }
    }
}

/// Installs the subscriber.
pub fn init(level: &str) -> Result<FilterHandle, FilterError> {
    let (filter, handle) = reload::Layer::new(filter(level)?);
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let ansi = std::io::stderr().is_terminal() && !journald;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    if journald {
        registry.with(fmt.without_time()).init();
    } else {
        registry.with(fmt).init();
    }
    Ok(handle)
}
