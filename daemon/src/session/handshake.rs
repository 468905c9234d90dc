//! The handshake, from the upgrade to a delivered `Welcome`: the greeting
//! (`Hello` → `Challenge`) and the admission (`Auth` → join checks →
//! `Welcome` or `Reject`), under one deadline.

use std::net::SocketAddr;
use std::sync::Arc;

use chat_protocol::sizes::MAX_AUTH;
use chat_protocol::{
    Auth, HandshakeError, KeyId, RejectCode, ServerEvent, ServerHandshake, close, valid_username,
};
use tokio::time::{Instant, timeout, timeout_at};
use tracing::Level;

use super::Parts;
use super::naming::{self, Asked, Taken};
use crate::config::Config;
use crate::ending::Ending;
use crate::hub::{Joined, Member, Queue};
use crate::logging::line_budget::LineBudget;
use crate::metrics::Tally;
use crate::metrics::labels::{HandshakeFailure, JoinOutcome, SessionEnd};
use crate::moderation::ban::BanRecord;
use crate::per_address::password_guesses::Refusal;
use crate::session::connection::{Connection, Secure, Stop};
use crate::store::password::Verdict;
use chat_protocol::clock::now_secs;

/// Refusals before a join are logged only a few times per this window
/// (see [`LineBudget`]): anyone who can connect can cause them.
const REFUSAL_LOG_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Time kept, at most, between a join's password verdict and its deadline,
/// to send the answer.
const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_millis(250);

/// A user who has joined and been sent the `Welcome`.
pub struct Established {
    /// The connection, keyed.
    pub conn: Secure,
    /// The member in the room.
    pub member: Arc<Member>,
    /// The member's queue, for the writer.
    pub rx: Queue,
    /// The configuration the connection started with, kept for its life.
    pub config: Arc<Config>,
    /// Whether the member proved one of its name's registered keys (its
    /// last-seen time is noted when it leaves).
    pub owner: bool,
}

/// The handshake, from the upgrade to a delivered `Welcome`; `None` when
/// the connection ended first (refused, gone, deadline missed, shutdown).
/// How it went is settled in `tally`.
pub async fn establish(
    mut conn: Connection,
    peer: SocketAddr,
    deadline: Instant,
    tally: &Tally,
    parts: &Parts,
) -> Option<Established> {
    let config = parts.config.get();

    let greeted = tokio::select! {
        r = timeout_at(deadline, greet(&mut conn, peer, tally, parts)) => r,
        () = parts.shutdown.cancelled() => {
            tally.failed(HandshakeFailure::Shutdown);
            conn.close(close::GOING_AWAY, "server shutting down", false).await;
            return None;
        }
    };
    let (session, key_id, th) = match greeted {
        Ok(Some(greeted)) => greeted,
        Ok(None) => return None,
        Err(_) => {
            tally.failed(HandshakeFailure::Timeout);
            tracing::debug!(%peer, "handshake deadline missed before the Hello");
            conn.close(close::POLICY, "handshake deadline missed", false)
                .await;
            return None;
        }
    };
    let mut conn = conn.secure(session);

    let admitted = tokio::select! {
        // Boxed: the admission's state (the password check, the
        // refusals) is most of the handshake's, and a connection that has
        // not sent its Hello yet should not hold it.
        r = timeout_at(deadline, Box::pin(admit(&mut conn, peer, parts, tally, (key_id, th), deadline))) => r,
        () = parts.shutdown.cancelled() => {
            tally.failed(HandshakeFailure::Shutdown);
            conn.goodbye(Ending::shutdown()).await;
            return None;
        }
    };
    let (Taken { joined, owner }, since) = match admitted {
        Ok(Ok(taken)) => taken,
        Ok(Err(ending)) => {
            conn.goodbye(ending).await;
            return None;
        }
        Err(_) => {
            tally.failed(HandshakeFailure::Timeout);
            tracing::debug!(%peer, "handshake deadline missed before the Auth");
            conn.goodbye(Ending::handshake_timeout()).await;
            return None;
        }
    };
    let Joined {
        member,
        welcome,
        rx,
    } = joined;
    tally.joined();
    // The member is in the room from here on: whatever happens, it must
    // reach `hub.leave`, so nothing below runs under a deadline that could
    // drop it halfway. The Welcome is bounded as any other write.
    // Not cut short by a kick or the shutdown: a Welcome sent in fragments
    // must end before anything else (a Bye) may follow. The writer says
    // goodbye after, if the session was ended meanwhile.
    // Fitting a long history or a long list into one message is CPU
    // work: on the blocking pool, so that no runtime worker (and so no
    // one else's events) waits for it; a light one is encoded here. The
    // room is not locked meanwhile.
    // A panic (a broken invariant) ends the session as the pool's would,
    // through `hub.leave` below, not the whole task with the member in.
    let encoded = if welcome.is_light() {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| welcome.encode())).map_err(drop)
    } else {
        tokio::task::spawn_blocking(move || welcome.encode())
            .await
            .map_err(drop)
    };
    let failed = match encoded {
        Ok(welcome) => match timeout(config.write_timeout.0, conn.send_bytes(&welcome)).await {
            Ok(true) => {
                let sealed = welcome.len() + chat_protocol::sizes::TAG_LEN;
                parts.metrics.sent_bytes.inc_by(sealed as u64);
                None
            }
            Ok(false) => Some(Ending::lost()),
            Err(_) => Some(Ending::too_slow(0)),
        },
        // Only a runtime shutting down cancels the pool's work; or the
        // encoding panicked.
        Err(()) => Some(Ending::shutdown()),
    };
    tally.decided(JoinOutcome::Welcome, since);
    if let Some(ending) = failed {
        member.control.end(ending);
        let ending = member.control.ending();
        parts.hub.leave(&member, &ending.leave_reason);
        parts.metrics.sessions_ended.inc(ending.reason);
        parts.peers.release(&member.name).await;
        tracing::info!(name = %member.name, %peer, "the Welcome was not delivered");
        return None;
    }
    Some(Established {
        conn,
        member,
        rx,
        config,
        owner,
    })
}

/// The greeting: reads the `Hello` and answers with the `Challenge`: the
/// session, the key it names and the transcript hash `th` (an identity's
/// proof signs it). `None`: refused (closed with the right code) or gone.
async fn greet(
    conn: &mut Connection,
    peer: SocketAddr,
    tally: &Tally,
    parts: &Parts,
) -> Option<(chat_protocol::Session, KeyId, [u8; 32])> {
    let hello = match conn.recv().await {
        Ok(hello) => hello,
        Err(Stop::Closed | Stop::Idle) => return None,
        Err(Stop::Text) => {
            tally.failed(HandshakeFailure::Malformed);
            conn.close(close::PROTOCOL, "expected a binary Hello", false)
                .await;
            return None;
        }
        Err(Stop::TooBig) => {
            tally.failed(HandshakeFailure::Malformed);
            conn.close(close::TOO_BIG, "Hello too large", true).await;
            return None;
        }
    };
    let (current, answer) = {
        let keys = parts.keyring.keys.read().expect("lock");
        let now = now_secs();
        let answer = ServerHandshake::new(&parts.keyring.identity)
            .respond(&hello, |id| keys.lookup(id, now));
        (keys.current.key_id(), answer)
    };
    let server_hello = match answer {
        Ok(h) => h,
        Err(HandshakeError::UnknownKey(theirs)) => {
            tally.failed(HandshakeFailure::UnknownKey);
            static UNKNOWN_KEY: LineBudget =
                LineBudget::new("refused: unknown key id", 5, REFUSAL_LOG_WINDOW);
            crate::budgeted!(UNKNOWN_KEY, Level::INFO, %peer, key_id = %theirs, "refused: unknown key id");
            let reason = format!("unknown key id; the server's current key is {current}");
            conn.close(close::UNKNOWN_KEY, &reason, false).await;
            return None;
        }
        Err(e) => {
            tally.failed(HandshakeFailure::Malformed);
            tracing::debug!(%peer, error = %e, "refused handshake");
            conn.close(close::PROTOCOL, &e.to_string(), false).await;
            return None;
        }
    };
    conn.send(server_hello.challenge).await.ok()?;
    Some((
        server_hello.session,
        server_hello.key_id,
        server_hello.keys.th,
    ))
}

/// The admission: opens the `Auth`, runs the join checks and registers the
/// user (`session`: the key the `Hello` named and the session's `th`);
/// with the time the `Auth` opened (the join's start). `Err`: how the
/// connection ends (a `Reject` is sent already, and counted). The
/// caller sends the `Welcome`: once the user is in the room, nothing may be
/// cut short by the handshake deadline.
async fn admit(
    conn: &mut Secure,
    peer: SocketAddr,
    parts: &Parts,
    tally: &Tally,
    session: (KeyId, [u8; 32]),
    deadline: Instant,
) -> Result<(Taken, Instant), Ending> {
    let (key_id, th) = session;
    let auth = conn.recv(MAX_AUTH).await.inspect_err(|ending| {
        let unopened = ending.bye.is_none() && ending.close_code == close::POLICY;
        tally.failed(match ending.reason {
            SessionEnd::Lost => HandshakeFailure::Closed,
            SessionEnd::Timeout => HandshakeFailure::Timeout,
            _ if unopened => HandshakeFailure::BadSeal,
            _ => HandshakeFailure::Malformed,
        });
        if unopened {
            static UNOPENED: LineBudget =
                LineBudget::new("refused: Auth failed to open", 5, REFUSAL_LOG_WINDOW);
            crate::budgeted!(UNOPENED, Level::INFO, %peer, "refused: Auth failed to open");
        }
    })?;
    let since = tally.auth_opened();
    let refused = Refused { peer, tally, since };
    let reject = async |conn: &mut Secure, code: RejectCode, reason: &str| {
        refused.reject(conn, code, reason, (None, None)).await
    };
    let moderation = &parts.moderating.moderation;

    let Some(mut auth) = Auth::from_bytes(&auth) else {
        let why = "the join request could not be read";
        return Err(reject(conn, RejectCode::BadRequest, why).await);
    };
    // Order matters: a token holder without the password learns nothing
    // about who is online.
    if parts.hub.is_full() {
        let why = "the server is full; try again later";
        return Err(reject(conn, RejectCode::ServerFull, why).await);
    }
    // A banned address is refused before the password: it costs no argon2.
    if let Some(ban) = moderation.banned_address(peer.ip()) {
        return Err(refuse_banned(conn, &refused, &ban).await);
    }
    // The verdict (or `busy`) must come with time left to send it.
    let margin = (parts.config.get().handshake_timeout.0 / 4).min(ANSWER_MARGIN);
    let answer_by = deadline.checked_sub(margin).unwrap_or(deadline);
    let busy = "the server is busy checking other joins; try again in a few seconds";
    // A guess is counted before argon2 starts, under the same lock as the
    // look at the address's block: an address that guessed wrong too often
    // is refused without argon2, and no concurrency gets more guesses
    // (only while a password is set: without one nothing is guessed).
    let gate = &parts.keyring.password;
    let guarded = gate.source() != crate::store::password::Source::None;
    let guess = if guarded {
        match parts
            .guesses
            .begin(peer.ip(), &auth.username, answer_by)
            .await
        {
            Ok(guess) => Some(guess),
            Err(Refusal::Throttled(wait)) => {
                let why =
                    format!("too many wrong passwords from this address; try again in {wait} s");
                let throttled = RejectCode::Throttled;
                return Err(refused
                    .reject(conn, throttled, &why, (Some(wait), None))
                    .await);
            }
            Err(Refusal::Busy) => return Err(reject(conn, RejectCode::Busy, busy).await),
        }
    } else {
        None
    };
    let verdict = gate
        .verify(std::mem::take(&mut auth.password), answer_by)
        .await;
    let right = match verdict {
        Verdict::Accepted => true,
        Verdict::Refused => false,
        // No verdict: the guess counts as nothing (dropped).
        Verdict::Busy => return Err(reject(conn, RejectCode::Busy, busy).await),
    };
    if let Some(guess) = guess
        && guess.answered(right)
    {
        parts.metrics.guess_blocks.inc();
    }
    if !right {
        return Err(reject(conn, RejectCode::BadPassword, "wrong password").await);
    }
    // The proof is checked before the name is looked at: a bad one
    // registers nothing, and says nothing of who holds the name.
    let proven = match auth.verify_identity(&th) {
        Ok(proven) => proven,
        Err(e) => {
            let why = format!("the identity was not accepted: {e}");
            return Err(reject(conn, RejectCode::BadIdentity, &why).await);
        }
    };
    if !valid_username(&auth.username) {
        let why = "a name is 1 to 32 of the characters A-Z a-z 0-9 _ . -";
        return Err(reject(conn, RejectCode::NameInvalid, why).await);
    }
    // Bans of the name or of the key proven: after the password, so that
    // a join without it learns nothing of who is banned.
    if let Some(ban) = moderation.banned(&auth.username, proven.map(|k| k.fingerprint())) {
        return Err(refuse_banned(conn, &refused, &ban).await);
    }
    // In a cluster the name must also be free on every other node: NATS
    // decides between two joins of one name anywhere, and only then does
    // this room take it.
    let asked = Asked {
        name: &auth.username,
        peer,
        key_id,
        proven,
        after: auth.after,
    };
    let taken = match naming::take(parts, &asked, answer_by).await {
        Ok(taken) => taken,
        Err(refused) => return Err(reject(conn, refused.code, &refused.why).await),
    };
    if taken.owner {
        parts.registry.seen(&auth.username);
    }
    // A rotation, or the end of a grace, may have withdrawn the key since
    // the Hello, and swept the room before this join: a key that no longer
    // joins keeps no one in the room.
    let accepted = parts
        .keyring
        .keys
        .read()
        .expect("lock")
        .accepts(&key_id, now_secs());
    if !accepted {
        taken.joined.member.control.end(Ending::key_rotated());
    }
    // Likewise a ban made since the checks above ended the sessions it
    // found before this one was in the room.
    let member = &taken.joined.member;
    if let Some(ban) = moderation.book().ban_on(
        &crate::ops::moderate::who_is(member),
        chat_protocol::clock::now_ms(),
    ) {
        member
            .control
            .end(Ending::banned(ban.reason.as_deref(), ban.until));
    }
    Ok((taken, since))
}

/// What a refused join is told and counted with.
struct Refused<'a> {
    peer: SocketAddr,
    tally: &'a Tally,
    /// When the `Auth` opened: the join's time is from here.
    since: Instant,
}

impl Refused<'_> {
    /// Sends the `Reject` and counts the join as decided.
    async fn reject(
        &self,
        conn: &mut Secure,
        code: RejectCode,
        reason: &str,
        // `retry_after` and `until`.
        answer: (Option<u64>, Option<u64>),
    ) -> Ending {
        let ending = reject_with(conn, self.peer, code, reason, answer).await;
        self.tally.decided(code.into(), self.since);
        ending
    }
}

/// Refuses a banned join: a `Reject` `banned` with the ban's reason and end.
async fn refuse_banned(conn: &mut Secure, refused: &Refused<'_>, ban: &BanRecord) -> Ending {
    let reason = ban.told_reason();
    refused
        .reject(conn, RejectCode::Banned, &reason, (None, ban.until))
        .await
}

/// Sends a sealed `Reject` (it serves as the `Bye`) with its `retry_after`
/// and `until`, and says how the connection ends; the refusal is logged
/// within its budget.
async fn reject_with(
    conn: &mut Secure,
    peer: SocketAddr,
    code: RejectCode,
    reason: &str,
    (retry_after, until): (Option<u64>, Option<u64>),
) -> Ending {
    // `busy` and `throttled` come in floods of their own: each has its own
    // budget, so the other refusals (a wrong password, say) still show.
    static REFUSED: LineBudget = LineBudget::new("refused join", 10, REFUSAL_LOG_WINDOW);
    static BUSY: LineBudget = LineBudget::new("refused join: busy", 3, REFUSAL_LOG_WINDOW);
    static THROTTLED: LineBudget =
        LineBudget::new("refused join: throttled", 3, REFUSAL_LOG_WINDOW);
    static BANNED: LineBudget = LineBudget::new("refused join: banned", 3, REFUSAL_LOG_WINDOW);
    match code {
        RejectCode::Busy => crate::budgeted!(BUSY, Level::INFO, %peer, ?code, "refused join"),
        RejectCode::Throttled => {
            crate::budgeted!(THROTTLED, Level::INFO, %peer, ?code, "refused join");
        }
        RejectCode::Banned => crate::budgeted!(BANNED, Level::INFO, %peer, ?code, "refused join"),
        _ => crate::budgeted!(REFUSED, Level::INFO, %peer, ?code, "refused join"),
    }
    let reason = reason.to_string();
    conn.send(&ServerEvent::Reject {
        code,
        reason,
        retry_after,
        until,
    })
    .await;
    Ending::rejected()
}
