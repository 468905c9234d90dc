//! The join password: held only as an argon2id hash, verified off the
//! async runtime with a small bound on concurrent verifications.
//!
//! Two sources, in order of precedence: a hash set through the admin API
//! (stored in `STATE_DIR/password`), then the configured password file
//! (hashed at load; the plaintext is dropped at once).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use argon2::{PasswordHash, PasswordVerifier};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::metrics::Metrics;
use crate::metrics::labels::Argon2Result;
use crate::store::phc::hasher;
pub use crate::store::phc::{
    PasswordError, check_length, check_stored_hash, hash, read_password_file,
};

/// Verifications that may run at once; more wait their turn.
const CONCURRENT_VERIFICATIONS: usize = 2;

/// What a verification is taken to cost before any has been timed.
const INITIAL_PACE: Duration = Duration::from_millis(100);

/// Joins that may wait for a verification slot. Past this, a join is
/// refused at once as `busy`: with argon2 at ~30 ms and two slots, the last
/// waiter starts within about half a second, far inside any handshake
/// deadline, so an honest join during a flood gets an answer (a Welcome or
/// a prompt `busy`), never a silent wait until its deadline. A join whose
/// password is being verified already takes no place: it waits for that
/// verification's verdict ([`Gate::verify`]).
const WAITING_VERIFICATIONS: usize = 16;

/// Where the password in force comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// No password: anyone with the key joins.
    None,
    /// The configured password file (or systemd credential).
    File,
    /// Set through the admin API, stored in the state directory.
    Admin,
}

#[derive(Default)]
struct Hashes {
    file: Option<String>,
    admin: Option<String>,
    /// A MAC (under [`Gate::mac_key`]) of the password that last verified
    /// against the hash in force; forgotten when the hash changes.
    verified: Option<Zeroizing<[u8; 32]>>,
}

/// What a join's password check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches, or none is set.
    Accepted,
    /// The password does not match.
    Refused,
    /// Too many joins are being checked already: refuse with `busy` and let
    /// the client retry shortly.
    Busy,
}

/// The password check shared by all connections.
///
/// The bound on argon2 work holds even when the caller gives up (its
/// handshake deadline drops the future): the permit travels into the
/// blocking job and is released only when argon2 returns, so at most
/// [`CONCURRENT_VERIFICATIONS`] hashes run at once, whatever the callers do.
/// A waiter that is dropped before its turn starts no argon2 at all.
///
/// A reconnect storm is not argon2-bound: once the shared password has
/// verified, it is recognised by a keyed MAC (HMAC-SHA256 under a random
/// key that lives only in this process), compared in constant time, without
/// argon2. Anything else (a wrong guess, a first join, a join after the
/// password changed) still pays for argon2, under the bound. A join that
/// waits for a slot is woken when a password verifies, and is accepted
/// without argon2 if it was that one: after a restart, a room that
/// reconnects at once pays for about one argon2, not one per waiter.
#[derive(Clone)]
pub struct Gate {
    hashes: Arc<RwLock<Hashes>>,
    mac_key: Arc<Zeroizing<[u8; 32]>>,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    /// A verification's recent duration, in microseconds.
    pace_us: Arc<AtomicU64>,
    /// Told when a password verified (the waiters check theirs again).
    verified: Arc<Notify>,
    /// argon2 verifications run so far.
    runs: Arc<AtomicU64>,
    /// What the check counts: verifications and their time, joins refused
    /// for want of a place to wait.
    metrics: Metrics,
    /// The verifications under way (at most one per slot), which a join
    /// with the same password waits for instead of running its own.
    flights: Arc<Mutex<Vec<Flight>>>,
    /// Numbers the flights, so that each removes its own entry.
    flight_ids: Arc<AtomicU64>,
}

/// A verification under way: the keyed MAC of its password, the hash it is
/// checked against, and where its verdict will be told (`None` until then;
/// the sender dropped without a verdict if argon2 failed).
struct Flight {
    id: u64,
    tag: Zeroizing<[u8; 32]>,
    phc: String,
    verdict: watch::Receiver<Option<bool>>,
}

impl Flight {
    /// The flight of the password whose MAC is `mac` against `phc`.
    fn find<'a>(flights: &'a [Flight], phc: &str, mac: &Hmac<Sha256>) -> Option<&'a Flight> {
        flights
            .iter()
            .find(|f| f.phc == phc && mac.clone().verify_slice(f.tag.as_slice()).is_ok())
    }
}

/// The running side of a [`Flight`]: tells the verdict, and removes the
/// flight from the list when dropped (told or not).
struct Leading {
    id: u64,
    flights: Arc<Mutex<Vec<Flight>>>,
    verdict: watch::Sender<Option<bool>>,
}

impl Leading {
    fn tell(self, accepted: bool) {
        self.verdict.send_replace(Some(accepted));
    }
}

impl Drop for Leading {
    fn drop(&mut self) {
        self.flights
            .lock()
            .expect("lock")
            .retain(|flight| flight.id != self.id);
    }
}

impl Default for Gate {
    /// A gate counting into metrics of its own.
    fn default() -> Self {
        Self::new(Metrics::default())
    }
}

impl Gate {
    /// A gate with no password set, counting into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        let mut mac_key = Zeroizing::new([0u8; 32]);
        getrandom::fill(mac_key.as_mut_slice()).expect("the OS random generator failed");
        Self {
            hashes: Arc::default(),
            mac_key: Arc::new(mac_key),
            permits: Arc::new(Semaphore::new(CONCURRENT_VERIFICATIONS)),
            waiting: Arc::default(),
            pace_us: Arc::new(AtomicU64::new(INITIAL_PACE.as_micros() as u64)),
            verified: Arc::default(),
            runs: Arc::default(),
            metrics,
            flights: Arc::default(),
            flight_ids: Arc::default(),
        }
    }
}

/// A place in the queue of joins waiting for a verification slot; leaving
/// the queue (served or dropped) frees the place.
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn enter(count: &Arc<AtomicUsize>, limit: usize) -> Option<Self> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(count.clone()))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    /// Sets (or clears) the hash of the configured password file.
    pub fn set_file_hash(&self, phc: Option<String>) {
        let mut hashes = self.hashes.write().expect("lock");
        hashes.file = phc;
        hashes.verified = None;
    }

    /// Sets (or clears) the admin-set hash.
    pub fn set_admin_hash(&self, phc: Option<String>) {
        let mut hashes = self.hashes.write().expect("lock");
        hashes.admin = phc;
        hashes.verified = None;
    }

    /// The keyed MAC of `password`, as [`Hashes::verified`] keeps it.
    fn mac(&self, password: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.mac_key.as_slice())
            .expect("any key length");
        mac.update(password.as_bytes());
        mac
    }

    /// Whether `password` is the one that last verified, compared in
    /// constant time.
    fn known(&self, password: &str) -> bool {
        let hashes = self.hashes.read().expect("lock");
        hashes
            .verified
            .as_ref()
            .is_some_and(|tag| self.mac(password).verify_slice(tag.as_slice()).is_ok())
    }

    /// The verdict to come of a verification of `password` against `phc`
    /// under way, if one is (the MACs compared in constant time).
    fn in_flight(&self, phc: &str, password: &str) -> Option<watch::Receiver<Option<bool>>> {
        let mac = self.mac(password);
        let flights = self.flights.lock().expect("lock");
        Flight::find(&flights, phc, &mac).map(|f| f.verdict.clone())
    }

    /// Starts a flight for `password` against `phc`, or, if one is under
    /// way already, the verdict to wait for; one look under the lock, so
    /// two joins with one password never both run argon2 for it.
    fn lead(&self, phc: &str, password: &str) -> Result<Leading, watch::Receiver<Option<bool>>> {
        let mac = self.mac(password);
        let mut flights = self.flights.lock().expect("lock");
        if let Some(flight) = Flight::find(&flights, phc, &mac) {
            return Err(flight.verdict.clone());
        }
        let id = self.flight_ids.fetch_add(1, Ordering::Relaxed);
        let (tell, verdict) = watch::channel(None);
        flights.push(Flight {
            id,
            tag: Zeroizing::new(mac.finalize().into_bytes().into()),
            phc: phc.to_owned(),
            verdict,
        });
        Ok(Leading {
            id,
            flights: self.flights.clone(),
            verdict: tell,
        })
    }

    /// Remembers `password` as verified against `phc`, unless the hash in
    /// force changed meanwhile.
    fn remember(&self, phc: &str, password: &str) {
        let tag = Zeroizing::new(<[u8; 32]>::from(self.mac(password).finalize().into_bytes()));
        let mut hashes = self.hashes.write().expect("lock");
        let in_force = hashes.admin.as_deref().or(hashes.file.as_deref());
        if in_force == Some(phc) {
            hashes.verified = Some(tag);
        }
        drop(hashes);
        self.verified.notify_waiters();
    }

    /// Which password is in force.
    pub fn source(&self) -> Source {
        let h = self.hashes.read().expect("lock");
        match (&h.admin, &h.file) {
            (Some(_), _) => Source::Admin,
            (None, Some(_)) => Source::File,
            (None, None) => Source::None,
        }
    }

    fn current(&self) -> Option<String> {
        let h = self.hashes.read().expect("lock");
        h.admin.clone().or_else(|| h.file.clone())
    }

    /// Whether `password` matches the configured password file's hash
    /// (used on reload to tell whether the file changed). Waits for a slot
    /// rather than reporting busy: a reload is rare and must not misread.
    pub async fn verify_file(&self, password: Zeroizing<String>) -> bool {
        let Some(phc) = self.hashes.read().expect("lock").file.clone() else {
            return false;
        };
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        run_argon2(permit, move || verify_against(&phc, &password))
            .await
            .unwrap_or(false)
    }

    /// Hashes a new password (admin-set, or a password file read at start
    /// or reload) under the same bound as the verifications: it waits for a
    /// slot, and a caller that gives up while waiting starts nothing.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String, PasswordError> {
        check_length(&password)?;
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::Hashing("the password check is closed".into()))?;
        run_argon2(permit, move || hash(&password))
            .await
            .unwrap_or_else(|| Err(PasswordError::Hashing("its task failed".into())))
    }

    /// Whether `password` may join. Runs argon2 on the blocking pool, at
    /// most [`CONCURRENT_VERIFICATIONS`] at once, with at most
    /// [`WAITING_VERIFICATIONS`] joins waiting. A join that cannot be
    /// answered by `answer_by` (its turn would come too late for argon2,
    /// at its recent pace, to finish before then) or finds no place to wait
    /// gets [`Verdict::Busy`], in time to say so. A join whose password is
    /// being verified already (by another join, against the same hash)
    /// waits for that verdict instead, without a waiting place and without
    /// argon2 of its own: a storm of joins with one password, all before
    /// the first verification ends, costs one argon2 and no `busy`.
    pub async fn verify(&self, password: Zeroizing<String>, answer_by: Instant) -> Verdict {
        let Some(phc) = self.current() else {
            return Verdict::Accepted;
        };
        if password.len() > chat_protocol::sizes::MAX_PASSWORD {
            return Verdict::Refused;
        }
        if self.known(&password) {
            return Verdict::Accepted;
        }
        if let Some(verdict) = self.in_flight(&phc, &password) {
            return follow(verdict, answer_by).await;
        }
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let Some(_place) = Waiting::enter(&self.waiting, WAITING_VERIFICATIONS) else {
                    self.metrics.argon2_refused_busy.inc();
                    return Verdict::Busy;
                };
                let latest_start = answer_by
                    .checked_sub(self.pace())
                    .unwrap_or_else(Instant::now);
                // Dropped here (deadline, shutdown): no argon2 is started.
                let acquire = self.permits.clone().acquire_owned();
                tokio::pin!(acquire);
                loop {
                    // Registered before the check, so a success in between
                    // still wakes this waiter.
                    let verified = self.verified.notified();
                    tokio::pin!(verified);
                    verified.as_mut().enable();
                    if self.known(&password) {
                        return Verdict::Accepted;
                    }
                    tokio::select! {
                        acquired = tokio::time::timeout_at(latest_start, &mut acquire) => {
                            match acquired {
                                Ok(Ok(permit)) => break permit,
                                Ok(Err(_)) => return Verdict::Refused,
                                Err(_) => return Verdict::Busy,
                            }
                        }
                        () = &mut verified => {}
                    }
                }
            }
        };
        // Verified by another join while this one waited for its slot.
        if self.known(&password) {
            return Verdict::Accepted;
        }
        let leading = match self.lead(&phc, &password) {
            Ok(leading) => leading,
            // Being verified by another join since: its verdict is this one's.
            Err(verdict) => {
                drop(permit);
                return follow(verdict, answer_by).await;
            }
        };
        let started = Instant::now();
        self.runs.fetch_add(1, Ordering::Relaxed);
        // Remembered before the slot is freed, so the waiter that takes
        // the slot next already finds the password known; told (and the
        // flight ended) in the blocking job, so a leader whose handshake
        // gave up still answers the joins that wait on it.
        let gate = self.clone();
        let ran = run_argon2(permit, move || {
            let on_thread = std::time::Instant::now();
            let accepted = verify_against(&phc, &password);
            let took = on_thread.elapsed();
            if accepted {
                gate.remember(&phc, &password);
            }
            leading.tell(accepted);
            (accepted, took)
        })
        .await;
        self.record(started.elapsed());
        let accepted = match ran {
            Some((accepted, took)) => {
                self.metrics.argon2_duration.observe(took.as_secs_f64());
                self.metrics.argon2_verifications.inc(if accepted {
                    Argon2Result::Match
                } else {
                    Argon2Result::Mismatch
                });
                accepted
            }
            None => false,
        };
        if accepted {
            Verdict::Accepted
        } else {
            Verdict::Refused
        }
    }

    /// How long a verification takes lately (a moving average; it grows
    /// when the machine is loaded, by a flood for one).
    fn pace(&self) -> Duration {
        Duration::from_micros(self.pace_us.load(Ordering::Relaxed))
    }

    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self
            .pace_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |pace| {
                Some((pace.saturating_mul(7).saturating_add(took)) / 8)
            });
    }

    /// argon2 verifications run since start (joins that were not
    /// recognised without it).
    pub fn verifications_run(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Joins waiting for a verification slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// argon2 runs now (verifications, and the hashing of a new password).
    pub fn running(&self) -> usize {
        CONCURRENT_VERIFICATIONS.saturating_sub(self.permits.available_permits())
    }
}

/// The verdict of a verification under way, for a join with the same
/// password: waiting costs this join's memory, not argon2, so it takes no
/// waiting place. `Busy` if it does not come by `answer_by` (or argon2
/// failed), like a join that waited for a slot in vain.
async fn follow(mut verdict: watch::Receiver<Option<bool>>, answer_by: Instant) -> Verdict {
    match tokio::time::timeout_at(answer_by, verdict.wait_for(Option::is_some)).await {
        Ok(Ok(told)) if *told == Some(true) => Verdict::Accepted,
        Ok(Ok(_)) => Verdict::Refused,
        Ok(Err(_)) | Err(_) => Verdict::Busy,
    }
}

fn verify_against(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs `argon2` (a verification or a hash) on the blocking pool. The
/// permit moves into the blocking job: it is released when argon2
/// returns, not when the caller stops waiting, so a cancelled join cannot
/// let another start.
/// `None` if the job failed (it panicked).
async fn run_argon2<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    argon2: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        argon2()
    })
    .await
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::phc::{M_COST, P_COST};
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};

    /// An answer-by time that never matters.
    fn later() -> Instant {
        Instant::now() + Duration::from_secs(600)
    }

    /// Once the password has verified, it joins again without argon2 (a
    /// reconnect storm is not argon2-bound); a wrong one still needs
    /// argon2, and a changed password forgets the old one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_verified_password_is_recognised_without_argon2_until_it_changes() {
        let gate = Gate::default();
        gate.set_admin_hash(Some(hash("right").unwrap()));
        let pw = |text: &str| Zeroizing::new(text.to_string());
        assert_eq!(gate.verify(pw("right"), later()).await, Verdict::Accepted);
        // No slot free: only a verification without argon2 can answer.
        let held = gate
            .permits
            .clone()
            .acquire_many_owned(CONCURRENT_VERIFICATIONS as u32)
            .await
            .unwrap();
        let soon = Instant::now() + Duration::from_millis(200);
        assert_eq!(gate.verify(pw("right"), soon).await, Verdict::Accepted);
        assert_eq!(
            gate.verify(pw("wrong"), soon).await,
            Verdict::Busy,
            "a wrong password waits for argon2"
        );
        gate.set_admin_hash(Some(hash("new").unwrap()));
        let soon = Instant::now() + Duration::from_millis(200);
        assert_eq!(
            gate.verify(pw("right"), soon).await,
            Verdict::Busy,
            "the old password is forgotten with the change"
        );
        drop(held);
        assert_eq!(gate.verify(pw("right"), later()).await, Verdict::Refused);
        assert_eq!(gate.verify(pw("new"), later()).await, Verdict::Accepted);
    }

    /// A join whose turn would come too late to verify before it must be
    /// answered gets `busy` by then, not a wait until its deadline.
    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_cannot_be_answered_in_time_is_busy_before_its_deadline() {
        let gate = Gate::default();
        gate.set_file_hash(Some(hash("right").unwrap()));
        let _held = gate
            .permits
            .clone()
            .acquire_many_owned(CONCURRENT_VERIFICATIONS as u32)
            .await
            .unwrap();
        let start = Instant::now();
        let answer_by = start + Duration::from_secs(2);
        let verdict = gate.verify(Zeroizing::new("right".into()), answer_by).await;
        assert_eq!(verdict, Verdict::Busy);
        let waited = start.elapsed();
        assert!(
            waited <= Duration::from_secs(2) - INITIAL_PACE,
            "answered after {waited:?}, too late to verify and answer by 2 s"
        );
        assert_eq!(gate.waiting(), 0);
    }

    #[tokio::test]
    async fn verifies_and_prefers_admin_hash() {
        let gate = Gate::default();
        let verify = async |pw: &str| gate.verify(Zeroizing::new(pw.into()), later()).await;
        assert_eq!(verify("anything").await, Verdict::Accepted);
        assert_eq!(gate.source(), Source::None);
        gate.set_file_hash(Some(hash("from-file").unwrap()));
        assert_eq!(verify("from-file").await, Verdict::Accepted);
        assert_eq!(verify("wrong").await, Verdict::Refused);
        gate.set_admin_hash(Some(hash("from-admin").unwrap()));
        assert_eq!(gate.source(), Source::Admin);
        assert_eq!(verify("from-file").await, Verdict::Refused);
        assert_eq!(verify("from-admin").await, Verdict::Accepted);
        gate.set_admin_hash(None);
        assert_eq!(verify("from-file").await, Verdict::Accepted);
    }

    /// A hash whose verification takes seconds (t = 100), so that a test
    /// can watch a verification while it runs.
    fn slow_hash(password: &str) -> String {
        let params = Params::new(M_COST, 100, P_COST, None).unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes())
            .unwrap()
            .to_string()
    }

    async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while !check() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited 60 s for {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// The bound holds when the caller gives up: a verification dropped
    /// while argon2 runs keeps its slot until argon2 returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_verification_keeps_its_slot_until_argon2_returns() {
        let gate = Gate::default();
        gate.set_file_hash(Some(slow_hash("right")));
        let running = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.verify(Zeroizing::new("wrong".into()), later()).await })
        };
        wait_for("the verification to start", || {
            gate.permits.available_permits() == CONCURRENT_VERIFICATIONS - 1
        })
        .await;
        running.abort();
        assert!(running.await.unwrap_err().is_cancelled());
        assert_eq!(
            gate.permits.available_permits(),
            CONCURRENT_VERIFICATIONS - 1,
            "the slot was freed while argon2 still ran"
        );
        wait_for("argon2 to return", || {
            gate.permits.available_permits() == CONCURRENT_VERIFICATIONS
        })
        .await;
    }

    /// Past the slots and the waiting places, a join is answered `Busy` at
    /// once; a waiter that gives up before its turn starts no argon2.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_busy_and_dropped_waiters_start_nothing() {
        let gate = Gate::default();
        gate.set_file_hash(Some(hash("right").unwrap()));
        // Every slot taken, as by verifications that are running.
        let held = gate
            .permits
            .clone()
            .acquire_many_owned(CONCURRENT_VERIFICATIONS as u32)
            .await
            .unwrap();
        let waiters: Vec<_> = (0..WAITING_VERIFICATIONS)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(
                    async move { gate.verify(Zeroizing::new("right".into()), later()).await },
                )
            })
            .collect();
        wait_for("the waiting places to fill", || {
            gate.waiting() == WAITING_VERIFICATIONS
        })
        .await;
        assert_eq!(
            gate.verify(Zeroizing::new("right".into()), later()).await,
            Verdict::Busy
        );
        for waiter in &waiters {
            waiter.abort();
        }
        for waiter in waiters {
            assert!(waiter.await.unwrap_err().is_cancelled());
        }
        assert_eq!(gate.waiting(), 0, "a dropped waiter leaves its place");
        drop(held);
        assert_eq!(
            gate.permits.available_permits(),
            CONCURRENT_VERIFICATIONS,
            "no dropped waiter started argon2"
        );
        assert_eq!(
            gate.verify(Zeroizing::new("right".into()), later()).await,
            Verdict::Accepted
        );
    }

    /// Far more joins with one password than there are slots and waiting
    /// places, all before the first verification ends: none is `busy`,
    /// they all wait for that verification and are answered by it (one
    /// argon2 for all); a wrong password is refused the same way.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn joins_with_a_password_under_verification_wait_for_it_without_a_place() {
        let gate = Gate::default();
        gate.set_file_hash(Some(slow_hash("right")));
        let storm = |password: &'static str| {
            (0..20 * (CONCURRENT_VERIFICATIONS + WAITING_VERIFICATIONS))
                .map(|_| {
                    let gate = gate.clone();
                    tokio::spawn(async move {
                        gate.verify(Zeroizing::new(password.into()), later()).await
                    })
                })
                .collect::<Vec<_>>()
        };
        for (password, verdict) in [("right", Verdict::Accepted), ("wrong", Verdict::Refused)] {
            let runs = gate.verifications_run();
            for join in storm(password) {
                assert_eq!(join.await.unwrap(), verdict, "a join with {password:?}");
            }
            assert_eq!(gate.waiting(), 0);
            assert_eq!(
                gate.verifications_run() - runs,
                1,
                "one argon2 for {password:?}"
            );
        }
    }

    /// A storm of joins with the right password, all arriving before the
    /// first verification ends: the waiters are woken by its success and
    /// accepted without argon2 of their own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiters_with_the_password_that_just_verified_run_no_argon2() {
        let gate = Gate::default();
        gate.set_file_hash(Some(slow_hash("right")));
        let joins: Vec<_> = (0..CONCURRENT_VERIFICATIONS + WAITING_VERIFICATIONS)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(
                    async move { gate.verify(Zeroizing::new("right".into()), later()).await },
                )
            })
            .collect();
        for join in joins {
            assert_eq!(join.await.unwrap(), Verdict::Accepted);
        }
        // The ones that found a free slot at once ran argon2; no waiter did.
        assert!(
            gate.verifications_run() <= CONCURRENT_VERIFICATIONS as u64,
            "{} argon2 runs for one password",
            gate.verifications_run()
        );
    }

    #[test]
    fn stored_hash_bounds() {
        let good = hash("pw").unwrap();
        assert!(
            good.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{good}"
        );
        check_stored_hash(&good).unwrap();
        for (from, to) in [
            ("m=19456", "m=4000000"),
            ("m=19456", "m=1048576"),
            ("m=19456", "m=65537"),
            ("m=19456", "m=7000"),
            ("t=2", "t=0"),
            ("t=2", "t=6"),
            ("t=2", "t=10"),
            ("p=1", "p=5"),
            ("p=1", "p=8"),
            ("v=19", "v=16"),
            ("$v=19", ""),
            ("argon2id", "argon2i"),
        ] {
            let bad = good.replace(from, to);
            assert!(check_stored_hash(&bad).is_err(), "{bad} accepted");
        }
        for (from, to) in [("m=19456", "m=65536"), ("m=19456,t=2", "m=7168,t=5")] {
            let fine = good.replace(from, to);
            check_stored_hash(&fine).unwrap_or_else(|e| panic!("{fine}: {e}"));
        }
        assert!(check_stored_hash("plaintext").is_err());
    }

    #[test]
    fn password_file_strips_one_newline() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("pw");
        std::fs::write(&p, "secret\n\n").unwrap();
        assert_eq!(*read_password_file(&p).unwrap(), "secret\n");
        std::fs::write(&p, "").unwrap();
        assert!(
            read_password_file(&p)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let max = "é".repeat(512);
        std::fs::write(&p, format!("{max}\r\n")).unwrap();
        assert_eq!(*read_password_file(&p).unwrap(), max);
        std::fs::write(&p, "é".repeat(10_000)).unwrap();
        assert!(
            read_password_file(&p)
                .unwrap_err()
                .to_string()
                .contains("over 1024 bytes"),
            "a big file is too long, not broken UTF-8"
        );
    }
}
