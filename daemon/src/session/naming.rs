//! A join takes its name: what the `names` policy says of it (steps 8 and
//! 9 of docs/protocol.md §12.3: `name_registered`, then `name_taken`), the
//! name claimed on every node and taken in the room, the name's owner
//! ending a session that holds it without proving one of its keys, and a
//! `first-come` join registering the name it got.

use std::net::SocketAddr;
use std::time::Duration;

use chat_protocol::clock::now_secs;
use chat_protocol::{IdentityKey, KeyId, RejectCode};
use tokio::time::Instant;

use super::Parts;
use crate::cluster::Claim;
use crate::ending::Control;
use crate::hub::Joined;
use crate::registry::EditError;
use crate::registry::admission::{Verdict, decide};
use crate::registry::edit::{self, Refusal};

/// The first pause before an owner tries the name again, once it asked
/// the holder to go; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);

/// The longest pause between an owner's tries.
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// What a join asks for: the name, who asks, and how it resumes.
pub struct Asked<'a> {
    /// The name.
    pub name: &'a str,
    /// The client's address.
    pub peer: SocketAddr,
    /// The room key it joined with.
    pub key_id: KeyId,
    /// The identity it proved for this session, if any.
    pub proven: Option<IdentityKey>,
    /// The `Auth`'s `after`.
    pub after: Option<u64>,
}

/// A join that took its name.
pub struct Taken {
    /// The member in the room, and its `Welcome`.
    pub joined: Joined,
    /// Whether the name is registered to the key the join proved (its
    /// last-seen time is noted at the join and the leave).
    pub owner: bool,
}

/// A join refused: the code and the reason to send.
pub struct Refused {
    /// The `Reject` code.
    pub code: RejectCode,
    /// Why, in words.
    pub why: String,
}

impl Refused {
    fn new(code: RejectCode, why: impl Into<String>) -> Self {
        Self {
            code,
            why: why.into(),
        }
    }

    fn taken(name: &str) -> Self {
        Self::new(
            RejectCode::NameTaken,
            format!("the name \"{name}\" is taken; choose another"),
        )
    }

    fn busy() -> Self {
        Self::new(
            RejectCode::Busy,
            "the cluster is unavailable; try again in a few seconds",
        )
    }
}

/// Takes `asked.name` for a join (see the module documentation), trying
/// until `deadline` while the name's owner waits for the holder it ended.
pub async fn take(parts: &Parts, asked: &Asked<'_>, deadline: Instant) -> Result<Taken, Refused> {
    let Asked { name, proven, .. } = *asked;
    let policy = parts.registry.policy();
    let verdict = if policy.binds() {
        // In a cluster NATS answers; one that hangs must not keep the
        // join past its deadline: the client hears `busy`, not silence.
        let record =
            tokio::time::timeout_at(deadline, parts.peers.registered(&parts.registry, name))
                .await
                .map_err(|_| Refused::busy())?
                .map_err(|_| Refused::busy())?;
        decide(policy, name, record.as_ref(), proven.as_ref())
    } else {
        Verdict::Open
    };
    let keys = match &verdict {
        Verdict::Refused(why) => return Err(Refused::new(RejectCode::NameRegistered, why)),
        Verdict::Owner { keys } => Some(keys.as_slice()),
        _ => None,
    };
    // An operator's rights need one of the name's keys under every policy
    // (under "open" too, where the name itself is not bound).
    let proven_owner = match (&verdict, proven) {
        (Verdict::Owner { .. }, _) => true,
        (Verdict::Open, Some(key)) => parts
            .peers
            .registered(&parts.registry, name)
            .await
            .map_err(|_| Refused::busy())?
            .is_some_and(|record| record.keys.contains(&key)),
        _ => false,
    };
    // What the claim tells the other nodes (for the `op` mark): a join
    // that registers its name as it joins is not known to own it yet.
    let claims_owner = proven_owner || keys.is_some();
    let mut pause = FIRST_PAUSE;
    let mut asked_elsewhere = false;
    loop {
        let claimed = match parts
            .peers
            .claim(&parts.hub, name, proven, claims_owner, deadline)
            .await
        {
            Ok(claimed) => Some(claimed),
            Err(Claim::Taken) => None,
            Err(Claim::Unavailable) => return Err(Refused::busy()),
        };
        if let Some(claimed) = claimed {
            // Held here by someone the claim does not see (alone): the
            // room says so, before anything is registered.
            let free = claimed || parts.hub.holder(name).is_none();
            let mut owner = keys.is_some();
            if free && let Verdict::Register(key) = verdict {
                match register(parts, asked, key, deadline).await {
                    Ok(registered) => owner = registered,
                    Err(refused) => {
                        if claimed {
                            parts.peers.release(name).await;
                        }
                        return Err(refused);
                    }
                }
            }
            let control = Control::new(&parts.shutdown);
            // Operator's rights need the name's key, whatever the policy:
            // taking the name never takes the rights.
            // A first-come join that registered its name now owns it too.
            let owner = proven_owner || owner;
            let proven = crate::hub::Proven {
                identity: proven,
                op: owner && parts.moderating.moderation.is_operator(name),
                owner,
            };
            match parts
                .hub
                .join(name, asked.peer, asked.key_id, proven, control, asked.after)
            {
                Ok(joined) => return Ok(Taken { joined, owner }),
                Err(code) => {
                    if claimed {
                        parts.peers.release(name).await;
                    }
                    if code != RejectCode::NameTaken {
                        return Err(Refused::new(code, "the server is full; try again later"));
                    }
                }
            }
        }
        // The name is held. Only its owner waits, for a holder that proved
        // none of its keys, which it ends.
        let Some(keys) = keys else {
            return Err(Refused::taken(name));
        };
        let holder = parts.hub.holder(name);
        if holder.is_some_and(|h| h.identity().is_some_and(|k| keys.contains(&k))) {
            return Err(Refused::taken(name));
        }
        parts.hub.end_unproven(name, keys);
        if !asked_elsewhere && !matches!(holder, Some(crate::hub::Holder::Here(_))) {
            let asking = parts.peers.end_unproven_elsewhere(name, keys);
            if tokio::time::timeout_at(deadline, asking).await.is_err() {
                return Err(Refused::busy());
            }
            asked_elsewhere = true;
        }
        let now = Instant::now();
        if now + pause >= deadline {
            return Err(Refused::taken(name));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// A `first-come` join that got its name registers it to the key it
/// proved: `Ok(true)` registered (or already its), `Ok(false)` left
/// unregistered (this address registered its share this hour, the
/// registry is full, or it could not be written: the join goes on, and a
/// later one registers the name); refused when someone registered the name
/// to other keys since the join looked, and `busy` when a cluster's NATS
/// does not answer by `deadline`.
async fn register(
    parts: &Parts,
    asked: &Asked<'_>,
    key: IdentityKey,
    deadline: Instant,
) -> Result<bool, Refused> {
    let ip = asked.peer.ip();
    if !parts.registry.take_registration(ip) {
        note_unregistered(
            asked.name,
            "this address registered its share of names this hour",
        );
        return Ok(false);
    }
    let editing = parts.peers.edit_name(
        &parts.registry,
        asked.name,
        edit::register(asked.name, key, now_secs()),
    );
    let edited = match tokio::time::timeout_at(deadline, editing).await {
        Ok(edited) => edited,
        Err(_) => Err(EditError::Unavailable("no answer in time".into())),
    };
    if edited.is_err() {
        parts.registry.give_back_registration(ip);
    }
    match edited {
        Ok(_) => {
            tracing::info!(name = asked.name, identity = %key.fingerprint(), "names: registered");
            Ok(true)
        }
        Err(EditError::Refused(Refusal::Taken(_))) => Err(Refused::new(
            RejectCode::NameRegistered,
            format!(
                "the name \"{}\" was registered to other keys just now",
                asked.name
            ),
        )),
        Err(EditError::Unavailable(_)) => Err(Refused::busy()),
        Err(e) => {
            note_unregistered(asked.name, &e.to_string());
            Ok(false)
        }
    }
}

/// A first-come join left unregistered: a few lines a minute.
fn note_unregistered(name: &str, why: &str) {
    static UNREGISTERED: crate::logging::line_budget::LineBudget =
        crate::logging::line_budget::LineBudget::new(
            "names: joins left unregistered",
            5,
            Duration::from_secs(60),
        );
    crate::budgeted!(
        UNREGISTERED,
        tracing::Level::WARN,
        name,
        "names: a first-come join was not registered: {why}"
    );
}
