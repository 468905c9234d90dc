//! A joined session in line mode: stdin lines out, server events in.
//!
//! One loop selects on four things: the next event from the server, the
//! next line from the stdin reader (only while no line is held back), the
//! pacer's permission to send the held line, and Ctrl-C/SIGTERM. At the end
//! of input it waits, at most [`DRAIN_TIMEOUT`], until every say, action,
//! DM and who it sent has been answered (echoed back, listed, or refused
//! with an `error`: the server answers each in order, so counting is
//! enough), then sends a sealed `Bye` and closes.

use std::io::{self, Write as _};
use std::time::Duration;

use chat_protocol::{ByeCode, ClientEvent, ServerEvent, Welcome, close};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::connection::{Connection, Incoming};
use crate::exit::{Exit, Failure};
use crate::input::{self, Command, Line};
use crate::pacing::Pacer;
use crate::render::{self, Mode};
use crate::signals::Signals;

/// How long to wait at the end of input for the server to answer the lines
/// already sent.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Lines read ahead of the pacer; a small number keeps a big piped file on
/// disk rather than in memory.
const READ_AHEAD: usize = 16;

/// The state of one session.
struct Session {
    conn: Connection,
    mode: Mode,
    /// Our name, as the server assigned it.
    me: String,
    max_text: usize,
    pacer: Pacer,
    /// A line waiting for the pacer.
    held: Option<ClientEvent>,
    /// Says, actions, DMs and whos sent but not yet answered.
    unanswered: usize,
    /// Whether any line was refused, locally or by the server.
    refused: bool,
    /// Lines read so far, for error messages.
    line_no: u64,
}

/// Runs the session until it ends; returns how the process should exit.
pub async fn run(
    conn: Connection,
    welcome: Welcome,
    mode: Mode,
    signals: &mut Signals,
) -> anyhow::Result<Exit> {
    let mut session = Session {
        conn,
        mode,
        me: welcome.name.clone(),
        max_text: welcome.max_text,
        pacer: Pacer::new(welcome.rate, Instant::now().into_std()),
        held: None,
        unanswered: 0,
        refused: false,
        line_no: 0,
    };
    match session.main_loop(welcome, signals).await {
        // A local failure (stdout gone): still leave properly.
        Err(err) if err.downcast_ref::<Failure>().is_none() => {
            let _ = session.leave("").await;
            Err(err)
        }
        ended => ended,
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn main_loop(&mut self, welcome: Welcome, signals: &mut Signals) -> anyhow::Result<Exit> {
        self.show(&ServerEvent::Welcome(welcome), b"")?;

        let (tx, mut lines) = mpsc::channel(READ_AHEAD);
        // Lines longer than this certainly hold a text over the limit: no
        // command prefix is this long.
        input::spawn_reader(self.max_text.saturating_add(64), tx);

        let mut input_open = true;
        let mut quit_reason = String::new();
        let mut drain_deadline: Option<Instant> = None;
        loop {
            if !input_open && self.held.is_none() {
                if self.unanswered == 0 {
                    return self.leave(&quit_reason).await;
                }
                drain_deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
            }
            let send_at = Instant::from_std(self.pacer.ready_at(Instant::now().into_std()));
            tokio::select! {
                () = signals.recv() => {
                    self.leave("").await?;
                    return Ok(Exit::Ok);
                }
                incoming = self.conn.recv() => {
                    if let Some(exit) = self.on_incoming(incoming).await? {
                        return Ok(exit);
                    }
                }
                () = tokio::time::sleep_until(send_at), if self.held.is_some() => {
                    let event = self.held.take().expect("a held line");
                    self.send(event).await?;
                }
                line = lines.recv(), if input_open && self.held.is_none() => {
                    match line {
                        Some(line) => {
                            if let Some(reason) = self.on_line(line).await? {
                                input_open = false;
                                quit_reason = reason;
                            }
                        }
                        None => input_open = false,
                    }
                }
                () = sleep_until_some(drain_deadline) => {
                    eprintln!(
                        "chat: {} line(s) not confirmed by the server within {} s of the end of input; they may not have been delivered",
                        self.unanswered,
                        DRAIN_TIMEOUT.as_secs()
                    );
                    self.refused = true;
                    return self.leave(&quit_reason).await;
                }
            }
        }
    }

    /// Handles one line of input. `Some(reason)` means the user quit.
    async fn on_line(&mut self, line: Line) -> anyhow::Result<Option<String>> {
        self.line_no += 1;
        let text = match line {
            Line::Text(text) => text,
            Line::TooLong(len) => {
                self.refuse_locally(&format!(
                    "message is at least {len} bytes; the limit is {} (not sent)",
                    self.max_text
                ));
                return Ok(None);
            }
            Line::NotUtf8 => {
                self.refuse_locally("the line is not UTF-8 text (not sent)");
                return Ok(None);
            }
        };
        match input::parse(&text) {
            Err(why) => self.refuse_locally(&why),
            Ok(Command::Nothing) => {}
            Ok(Command::Help) => eprintln!("{}", input::HELP),
            Ok(Command::Quit { reason }) => return Ok(Some(reason)),
            Ok(Command::Send(event)) => match input::check(&event, self.max_text) {
                Err(why) => self.refuse_locally(&why),
                Ok(()) => {
                    let now = Instant::now().into_std();
                    if self.pacer.ready_at(now) <= now {
                        self.send(event).await?;
                    } else {
                        self.held = Some(event);
                    }
                }
            },
        }
        Ok(None)
    }

    fn refuse_locally(&mut self, why: &str) {
        eprintln!("chat: line {}: {why}", self.line_no);
        self.refused = true;
    }

    /// Sends one event, spending a token of the pacer.
    async fn send(&mut self, event: ClientEvent) -> anyhow::Result<()> {
        self.pacer.take(Instant::now().into_std());
        self.conn.send(&event).await?;
        if input::expects_answer(&event) {
            self.unanswered += 1;
        }
        Ok(())
    }

    /// Handles what the server sent. `Some(exit)` ends the session.
    async fn on_incoming(&mut self, incoming: Incoming) -> anyhow::Result<Option<Exit>> {
        let (event, raw) = match incoming {
            Incoming::Event { event, raw } => (event, raw),
            Incoming::Closed(code) => {
                let code = code.map_or_else(String::new, |c| format!(" (close code {c})"));
                return Err(Failure::new(
                    Exit::ConnectionLost,
                    format!("connection lost: the server closed the connection without a sealed goodbye{code}"),
                )
                .into());
            }
            Incoming::Broken { close, why } => {
                if let Some(code) = close {
                    self.conn.abort(code, &why).await;
                }
                return Err(
                    Failure::new(Exit::ConnectionLost, format!("connection lost: {why}")).into(),
                );
            }
        };
        self.show(&event, &raw)?;
        match event {
            ServerEvent::Message(message) if self.is_me(&message.from) => self.answered(),
            ServerEvent::Dm { from, .. } if self.is_me(&from) => self.answered(),
            ServerEvent::Users { .. } => self.answered(),
            ServerEvent::Error { message, .. } => {
                eprintln!("{}", render::refused(&message));
                self.refused = true;
                self.answered();
            }
            ServerEvent::Bye { code, reason } => {
                if self.mode == Mode::Json {
                    eprintln!("chat: {}", render::disconnected(code, &reason));
                }
                self.conn.close(close::NORMAL).await;
                return Ok(Some(Exit::Disconnected));
            }
            _ => {}
        }
        Ok(None)
    }

    fn is_me(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.me)
    }

    fn answered(&mut self) {
        self.unanswered = self.unanswered.saturating_sub(1);
    }

    /// Prints an event on stdout.
    fn show(&mut self, event: &ServerEvent, raw: &[u8]) -> anyhow::Result<()> {
        let Some(text) = render::event(self.mode, event, raw) else {
            return Ok(());
        };
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .map_err(|err| anyhow::anyhow!("writing to standard output: {err}"))
    }

    /// Says goodbye (sealed) and closes; the exit for a clean leave.
    async fn leave(&mut self, reason: &str) -> anyhow::Result<Exit> {
        let bye = ClientEvent::Bye {
            code: ByeCode::Leave,
            reason: reason.into(),
        };
        // A connection that broke just now needs no goodbye.
        if self.conn.send(&bye).await.is_ok() {
            self.conn.close(close::NORMAL).await;
        }
        Ok(if self.refused {
            Exit::Refused
        } else {
            Exit::Ok
        })
    }
}
