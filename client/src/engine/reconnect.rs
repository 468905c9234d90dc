//! The reconnect policy: what a rejoin needs ([`Rejoin`]), the backoff
//! between attempts, and what the [`Engine`] does when the link is lost,
//! when a join starts and when it ends (joined again: the rejoin's history
//! merged, unanswered lines settled; or failed: wait again, or give up).

use std::sync::Arc;
use std::time::Duration;

use chat_protocol::{Auth, ByeCode, ClientEvent, Identity, RejectCode, Token, close};
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::pending::merge;
use super::{Engine, Event, Link, Remedy};
use crate::connection::{self, JoinError};
use crate::exit::Failure;
use crate::pacing::Pacer;

/// The first wait before a reconnect attempt.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait between reconnect attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Rejoin attempts that wait out a taken name (1 + 2 + 4 + 8 + 16 + 30 s).
const NAME_HELD_ATTEMPTS: u32 = 6;

/// What a rejoin needs: the same servers, key and name.
pub struct Rejoin {
    /// The servers' URLs, tried in turn.
    pub urls: Vec<String>,
    /// The key.
    pub token: Token,
    /// The join request (name and password).
    pub auth: Auth,
    /// The identity proven at each join, if any.
    pub identity: Option<Arc<Identity>>,
}

/// Whether a failed rejoin is worth waiting out: a retry can help, or the
/// name is taken (`name_taken`, by the server's code: `name_registered`
/// has the same exit status and is final), which our own old session may
/// still hold until the server notices it is gone, for the first
/// [`NAME_HELD_ATTEMPTS`] attempts (about a minute: someone else may have
/// taken it).
pub fn worth_retrying(err: &JoinError, attempt: u32) -> bool {
    let name_held = err.rejected == Some(RejectCode::NameTaken) && attempt < NAME_HELD_ATTEMPTS;
    err.retry_helps() || name_held
}

/// What the user gave to join again with, in place of what the last
/// join used.
#[derive(PartialEq, Eq)]
pub enum Credentials {
    /// A new password.
    Password(Zeroizing<String>),
    /// A new key.
    Key(Token),
}

impl std::fmt::Debug for Credentials {
    /// Never the password or the key: the key's id at most.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(…)"),
            Self::Key(token) => write!(f, "Key({})", token.key_id()),
        }
    }
}

/// The wait before reconnect attempt `attempt` (0-based): doubling from
/// [`BACKOFF_MIN`] to [`BACKOFF_MAX`], less up to a fifth at random, so
/// that clients dropped together do not all come back at once.
pub fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_MIN
        .saturating_mul(1u32 << attempt.min(5))
        .min(BACKOFF_MAX);
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    base - base.mul_f64(f64::from(byte[0]) / 255.0 / 5.0)
}

impl Engine {
    /// The link is gone: reconnect if that is on, else the session ends.
    pub(super) fn lost(&mut self, failure: Failure, events: &mut Vec<Event>) {
        self.conn = None;
        if self.rejoin.is_none() {
            return self.end(failure, Remedy::Nothing, events);
        }
        let at = Instant::now() + backoff(0);
        self.link = Link::Waiting { at, attempt: 0 };
        events.push(Event::Lost(failure.message));
    }

    /// Joins again now: at once rather than at the next step of the
    /// backoff, or after the session ended (the full screen's
    /// `/reconnect`, or the password or key it asked for after a
    /// refusal). `credentials` replace those of the last join. A joined
    /// session leaves first (a link can look up and be dead, after a
    /// laptop's sleep); a join under way is started again. Lines not yet
    /// answered are settled by the rejoin's history, as after a lost link.
    /// False when reconnecting is off (the line client).
    pub async fn reconnect_now(&mut self, credentials: Option<Credentials>) -> bool {
        let Some(rejoin) = &mut self.rejoin else {
            return false;
        };
        match credentials {
            Some(Credentials::Password(password)) => rejoin.auth.password = password,
            Some(Credentials::Key(token)) => rejoin.token = token,
            None => {}
        }
        if let Some(joining) = self.joining.take() {
            joining.abort();
        }
        if let Some(mut conn) = self.conn.take() {
            let bye = ClientEvent::Bye {
                code: ByeCode::Leave,
                reason: "reconnecting".into(),
            };
            if conn.send(&bye).await.is_ok() {
                conn.close(close::NORMAL).await;
            }
        }
        self.link = Link::Waiting {
            at: Instant::now(),
            attempt: 0,
        };
        self.start_join();
        true
    }

    pub(super) fn start_join(&mut self) {
        let (Some(rejoin), Link::Waiting { attempt, .. }) = (&self.rejoin, self.link) else {
            return;
        };
        let (urls, token, mut auth, identity) = (
            rejoin.urls.clone(),
            rejoin.token.clone(),
            rejoin.auth.clone(),
            rejoin.identity.clone(),
        );
        // Resume: the server sends what came after the last message seen.
        auth.after = self.last_id;
        self.resumed_after = self.last_id;
        self.link = Link::Joining;
        self.retry_attempt = attempt;
        self.joining = Some(tokio::spawn(async move {
            connection::join_any(&urls, &token, &auth, identity.as_deref()).await
        }));
    }

    pub(super) fn on_joined(
        &mut self,
        joined: Result<crate::connection::Joined, JoinError>,
        events: &mut Vec<Event>,
    ) {
        let (conn, mut welcome, url) = match joined {
            Ok(joined) => joined,
            Err(err) => {
                if worth_retrying(&err, self.retry_attempt) {
                    let attempt = self.retry_attempt + 1;
                    let at = Instant::now() + backoff(attempt);
                    self.link = Link::Waiting { at, attempt };
                    events.push(Event::RetryFailed(err.failure.message));
                } else {
                    let remedy = Remedy::after(&err.failure, false);
                    self.end(err.failure, remedy, events);
                }
                return;
            }
        };
        self.conn = Some(conn);
        self.link = Link::Up;
        self.me = welcome.name.clone();
        self.max_text = welcome.max_text;
        self.pacer = Pacer::new(welcome.rate, Instant::now().into_std());

        // The welcome says who is online: a refresh asked before is moot
        // (sent, it was lost with the link; queued, it need not go).
        if let Some(seq) = self.refresh.take() {
            self.queue.retain(|p| p.seq != seq);
        }
        // Lists read in pages start again from this Welcome's (a `/who`
        // typed is not answered: the user asks again).
        self.lists_waiting.clear();
        self.drop_paging(events);
        if welcome.more {
            self.read_more(super::paging::Paging::of(
                None,
                &welcome.users,
                &welcome.members,
            ));
        }
        let history = std::mem::take(&mut welcome.history);
        // A server that resumed after our last id says so (`resumed`) and
        // sends exactly what came after it, or says `gap`: trusted, however
        // far the ids jumped (they do after a server's crash). From an
        // older server, which does not say, the ids and the merge guess.
        let resumed = self.resumed_after.is_some_and(|after| {
            welcome.resumed
                || history
                    .first()
                    .is_none_or(|e| e.id == after.saturating_add(1))
        });
        let inflight = std::mem::take(&mut self.inflight);
        // Lines to other rooms wait for each room's own rejoin.
        let (inflight, rejoins) = self.rejoin_rooms(&welcome, inflight, events);
        let merged = merge(history, &self.seen, &self.me, inflight);
        let gap = welcome.gap || (!resumed && merged.gap);
        for entry in &merged.fresh {
            self.remember(entry);
        }
        self.last_id = welcome.last_id.or(self.last_id);
        for pending in merged.resend.into_iter().rev() {
            self.queue.push_front(pending);
        }
        // The rooms first: the Welcome resumed the default room, a
        // `join_room` resumes each other one.
        for pending in rejoins.into_iter().rev() {
            self.queue.push_front(pending);
        }
        events.extend(merged.unknown.into_iter().map(Event::Unknown));
        welcome.history = merged.fresh;
        events.push(Event::Rejoined { welcome, gap, url });
        events.extend(merged.confirmed.into_iter().map(Event::Confirmed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    #[test]
    fn a_taken_name_is_waited_out_and_a_registered_one_is_not() {
        use crate::connection::Retry;
        let refused = |code| JoinError {
            failure: Failure::new(Exit::NameTaken, "refused"),
            retry: Retry::Useless,
            rejected: Some(code),
        };
        // Both exit 13; only the code tells them apart.
        assert!(worth_retrying(&refused(RejectCode::NameTaken), 0));
        assert!(worth_retrying(
            &refused(RejectCode::NameTaken),
            NAME_HELD_ATTEMPTS - 1
        ));
        assert!(!worth_retrying(
            &refused(RejectCode::NameTaken),
            NAME_HELD_ATTEMPTS
        ));
        assert!(!worth_retrying(&refused(RejectCode::NameRegistered), 0));
        assert!(!worth_retrying(&refused(RejectCode::BadIdentity), 0));
        let lost = JoinError {
            failure: Failure::new(Exit::ConnectionLost, "lost"),
            retry: Retry::Helps,
            rejected: None,
        };
        assert!(worth_retrying(&lost, 100));
    }

    /// Runs `engine` until `pick` takes one of its events; the deadline is
    /// generous.
    async fn until<T>(engine: &mut Engine, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        tokio::time::timeout(testkit::DEADLINE, async {
            loop {
                let wake = engine.wait().await;
                for event in engine.handle(wake).await {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
            }
        })
        .await
        .expect("the engine's event in time")
    }

    /// `/reconnect` joins at once: while the backoff waits (the link
    /// lost), and from a joined session (which leaves first).
    #[tokio::test]
    async fn reconnecting_now_joins_at_once_rather_than_at_the_next_step() {
        let mut daemon = testkit::Daemon::start();
        let token = Token::parse(&daemon.key).unwrap();
        let auth = Auth {
            username: "ace".into(),
            password: Zeroizing::new(String::new()),
            client: "test".into(),
            after: None,
            identity: None,
            proof: None,
        };
        let urls = vec![daemon.url.clone()];
        let (conn, welcome, _) = connection::join_any(&urls, &token, &auth, None)
            .await
            .unwrap();
        let mut engine = Engine::new(conn, &welcome);
        engine.reconnect_with(Rejoin {
            urls,
            token,
            auth,
            identity: None,
        });

        // Joined: it leaves and joins again, under the same name.
        assert!(engine.reconnect_now(None).await);
        assert_eq!(engine.link(), Link::Joining);
        let name = until(&mut engine, |e| match e {
            Event::Rejoined { welcome, .. } => Some(welcome.name.clone()),
            _ => None,
        })
        .await;
        assert_eq!(name, "ace");

        // The link lost: the backoff waits, and /reconnect does not.
        assert!(daemon.terminate().success());
        until(&mut engine, |e| matches!(e, Event::Lost(_)).then_some(())).await;
        assert!(matches!(engine.link(), Link::Waiting { .. }));
        assert!(engine.reconnect_now(None).await);
        assert_eq!(engine.link(), Link::Joining, "a join under way at once");
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds_with_jitter() {
        for attempt in 0..12 {
            let wait = backoff(attempt);
            let base = Duration::from_secs(1 << attempt.min(5)).min(BACKOFF_MAX);
            assert!(
                wait <= base && wait >= base.mul_f64(0.8),
                "{attempt}: {wait:?}"
            );
        }
    }
}
