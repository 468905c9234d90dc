//! Ctrl-C and SIGTERM, as one stream the client selects on.
//!
//! The handlers are installed when `chat` starts, so a signal never kills
//! the process halfway: before the join it ends the attempt (exit 130, the
//! terminal restored if a password prompt had turned echo off), and in a
//! session it makes the client say a sealed goodbye and close.

use anyhow::Context as _;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signals that ask `chat` to stop.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    /// Waits for the next Ctrl-C or SIGTERM. Cancel-safe.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
