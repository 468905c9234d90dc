//! The verifications under way and the joins waiting for one: a join
//! whose password is being verified already waits for that verdict (one
//! argon2 per password in flight), and a join that waits for a slot holds
//! one of a bounded number of places.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::{Gate, Verdict};

/// A verification under way: the keyed MAC of its password, the hash it is
/// checked against, and where its verdict will be told (`None` until then;
/// the sender dropped without a verdict if argon2 failed).
pub(super) struct Flight {
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
pub(super) struct Leading {
    id: u64,
    flights: Arc<Mutex<Vec<Flight>>>,
    verdict: watch::Sender<Option<bool>>,
}

impl Leading {
    pub(super) fn tell(self, accepted: bool) {
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

/// A place in the queue of joins waiting for a verification slot; leaving
/// the queue (served or dropped) frees the place.
pub(super) struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    pub(super) fn enter(count: &Arc<AtomicUsize>, limit: usize) -> Option<Self> {
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
    /// The verdict to come of a verification of `password` against `phc`
    /// under way, if one is (the MACs compared in constant time).
    pub(super) fn in_flight(
        &self,
        phc: &str,
        password: &str,
    ) -> Option<watch::Receiver<Option<bool>>> {
        let mac = self.mac(password);
        let flights = self.flights.lock().expect("lock");
        Flight::find(&flights, phc, &mac).map(|f| f.verdict.clone())
    }

    /// Starts a flight for `password` against `phc`, or, if one is under
    /// way already, the verdict to wait for; one look under the lock, so
    /// two joins with one password never both run argon2 for it.
    pub(super) fn lead(
        &self,
        phc: &str,
        password: &str,
    ) -> Result<Leading, watch::Receiver<Option<bool>>> {
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
}

/// The verdict of a verification under way, for a join with the same
/// password: waiting costs this join's memory, not argon2, so it takes no
/// waiting place. `Busy` if it does not come by `answer_by` (or argon2
/// failed), like a join that waited for a slot in vain.
pub(super) async fn follow(
    mut verdict: watch::Receiver<Option<bool>>,
    answer_by: Instant,
) -> Verdict {
    match tokio::time::timeout_at(answer_by, verdict.wait_for(Option::is_some)).await {
        Ok(Ok(told)) if *told == Some(true) => Verdict::Accepted,
        Ok(Ok(_)) => Verdict::Refused,
        Ok(Err(_)) | Err(_) => Verdict::Busy,
    }
}
