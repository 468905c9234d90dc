//! A join's claim of its name, from the first try to a claim held or a
//! refusal, and what is left to clean when the join gives up.
//!
//! NATS may be unable to decide for a moment: the client is reconnecting
//! (its server died; it moves to another one of a NATS cluster), or the
//! names bucket's stream is electing a new leader ("no stream found for
//! given subject" meanwhile). A claim then waits and tries again, with a
//! growing pause (50 ms to 1 s) and at once when the connection comes back,
//! until the join's deadline; only a NATS that stays away past it gets the
//! join refused as `busy`.
//!
//! The tries run in a task of their own, never cut short by the join: a
//! create that NATS stores after the join gave up (its answer came too
//! late, or not at all) must not be left behind, or the name would stay
//! taken by no one for the claim's whole lifetime. So:
//!
//! - a try answered after the join gave up is released at once;
//! - a try that got no answer may still be stored (NATS took it but its
//!   answer was lost, or NATS was frozen and stores it when it resumes):
//!   once the join gave up, the bucket is read until NATS has twice
//!   answered that the claim is not there (at most a lifetime); found, it
//!   is deleted. Each claim carries its own random id
//!   ([`super::names::Holder::claim`]), so the node tells that claim from
//!   any other of the same name.

use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Level;

use super::ClusterError;
use super::names::{ClaimError, Holder, Names, key_of};
use crate::logging::line_budget::LineBudget;

/// The first pause between two tries; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// How often an abandoned claim that got no answer is looked for.
const SETTLE_EVERY: Duration = Duration::from_millis(500);

/// What the tries came to.
enum Tried {
    /// The claim is this node's, at this revision.
    Created(u64),
    /// Another claim holds the name.
    Taken,
    /// The deadline passed first; `unanswered`: some try may still be
    /// stored.
    GaveUp {
        error: ClusterError,
        unanswered: bool,
    },
}

/// The join's side of a claim under way: if the join drops it (its
/// deadline fired) before the answer was read, a claim made meanwhile is
/// released.
struct Waiting {
    rx: Option<oneshot::Receiver<Result<(), ClaimError>>>,
    names: Names,
    name: String,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else {
            return;
        };
        // After `close`, the task's `send` fails (and the task releases
        // what it made); an answer sent before it is read here.
        rx.close();
        if let Ok(Ok(())) = rx.try_recv()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let (names, name) = (self.names.clone(), std::mem::take(&mut self.name));
            runtime.spawn(async move { names.release_abandoned(&name).await });
        }
    }
}

impl Names {
    /// Claims `name` for a user of this node who proved `identity` and
    /// is not known to own the name ([`Names::claim_as`]).
    pub async fn claim(
        &self,
        name: &str,
        identity: Option<chat_protocol::IdentityKey>,
        deadline: Instant,
    ) -> Result<(), ClaimError> {
        self.claim_as(name, identity, false, deadline).await
    }

    /// Claims `name` for a user of this node (`owner`: who proved one of
    /// the name's registered keys, as the claim tells the other nodes),
    /// trying again while NATS cannot decide, until `deadline` (see the module documentation).
    /// `Err(Taken)`: someone holds it; `Err(Cluster)`: NATS could not
    /// decide in time.
    pub async fn claim_as(
        &self,
        name: &str,
        identity: Option<chat_protocol::IdentityKey>,
        owner: bool,
        deadline: Instant,
    ) -> Result<(), ClaimError> {
        if Instant::now() >= deadline {
            return Err(ClusterError::js("claim a name", "no time left to ask NATS").into());
        }
        let (tx, rx) = oneshot::channel();
        let task = self.clone();
        let owned = name.to_string();
        tokio::spawn(async move { task.claim_task(owned, identity, owner, deadline, tx).await });
        let mut waiting = Waiting {
            rx: Some(rx),
            names: self.clone(),
            name: name.to_string(),
        };
        let answer =
            tokio::time::timeout_at(deadline, waiting.rx.as_mut().expect("set just above")).await;
        match answer {
            Ok(Ok(result)) => {
                waiting.rx = None;
                result
            }
            // The task ended without an answer (the runtime is stopping).
            Ok(Err(_)) => Err(ClusterError::js("claim a name", "the claim was given up").into()),
            // `waiting` is dropped: a claim made from now on is released.
            Err(_) => Err(ClusterError::js(
                "claim a name",
                "NATS did not decide in time (reconnecting, or electing a leader)",
            )
            .into()),
        }
    }

    /// The claim's tries, and their aftermath (see the module
    /// documentation).
    async fn claim_task(
        self,
        name: String,
        identity: Option<chat_protocol::IdentityKey>,
        owner: bool,
        deadline: Instant,
        tx: oneshot::Sender<Result<(), ClaimError>>,
    ) {
        let key = key_of(&name);
        let value = Holder {
            owner,
            ..Holder::new(self.node(), &name, identity)
        }
        .encode();
        match self.try_create(&key, &value, deadline).await {
            Tried::Created(revision) => {
                self.held
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, (revision, value));
                if tx.send(Ok(())).is_err() {
                    // The join gave up meanwhile: no session holds it.
                    self.release_abandoned(&name).await;
                }
            }
            Tried::Taken => {
                let _ = tx.send(Err(ClaimError::Taken));
            }
            Tried::GaveUp { error, unanswered } => {
                let _ = tx.send(Err(error.into()));
                if unanswered {
                    self.settle(&key, &value).await;
                }
            }
        }
    }

    /// Tries to create the claim until it is made, taken, or `deadline`.
    async fn try_create(&self, key: &str, value: &Bytes, deadline: Instant) -> Tried {
        let mut pause = FIRST_PAUSE;
        let mut unanswered = false;
        let mut connections = self.connections.clone();
        let mut error = ClusterError::js("claim a name", "not connected to NATS");
        loop {
            connections.borrow_and_update();
            if self.connected() {
                match self.store.create(key, value.clone()).await {
                    Ok(revision) => return Tried::Created(revision),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                        // An earlier try of this very claim may have been
                        // stored without an answer.
                        if !unanswered {
                            return Tried::Taken;
                        }
                        match self.reconcile_read(key, value).await {
                            Ok(Some(revision)) => return Tried::Created(revision),
                            Ok(None) => return Tried::Taken,
                            Err(e) => error = e,
                        }
                    }
                    Err(e) => {
                        unanswered = true;
                        note_trouble(&e);
                        error = ClusterError::js("claim a name", e);
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Tried::GaveUp { error, unanswered };
            }
            tokio::select! {
                () = tokio::time::sleep_until((now + pause).min(deadline)) => {}
                // Back on NATS: at once.
                _ = connections.changed() => {}
            }
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    /// Releases `name`'s claim, made for a join that gave up before it
    /// could be told.
    pub(super) async fn release_abandoned(&self, name: &str) {
        match self.release(name).await {
            Ok(()) => tracing::info!(
                name,
                "cluster: released a name claimed for a join that had given up"
            ),
            Err(e) => tracing::warn!(
                name,
                "cluster: a name claimed for a join that gave up was not released ({e}); it lapses by itself"
            ),
        }
    }

    /// Looks for a claim whose tries got no answer after its join gave
    /// up, and deletes it if NATS stored it: until NATS twice answered
    /// that it is not there, or for at most a claim's lifetime.
    async fn settle(&self, key: &str, value: &Bytes) {
        let until = Instant::now() + self.lifetime;
        let mut answers = 0;
        while answers < 2 && Instant::now() < until {
            if self.connected() {
                match self.reconcile_read(key, value).await {
                    Ok(Some(revision)) => {
                        match self.store.delete_expect_revision(key, Some(revision)).await {
                            Ok(()) => tracing::info!(
                                key,
                                "cluster: released a name claim NATS stored after its join had given up"
                            ),
                            Err(e) => tracing::warn!(
                                key,
                                "cluster: a claim stored after its join gave up was not released ({e}); it lapses by itself"
                            ),
                        }
                        return;
                    }
                    Ok(None) => answers += 1,
                    Err(_) => {}
                }
            }
            tokio::time::sleep(SETTLE_EVERY).await;
        }
    }
}

/// A claim's try that NATS refused for now (it is tried again): a few
/// warnings a minute.
fn note_trouble(error: &dyn std::fmt::Display) {
    static TROUBLE: LineBudget =
        LineBudget::new("cluster: claims tried again", 3, Duration::from_secs(60));
    crate::budgeted!(
        TROUBLE,
        Level::WARN,
        "cluster: claim a name: {error}; trying again until the join's deadline"
    );
}
