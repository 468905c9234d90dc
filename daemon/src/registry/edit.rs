//! The changes of one name's record, as pure functions of the record as it
//! is: whatever keeps the registry (a single chatd's book, a cluster's
//! bucket with compare-and-set) reads the record, applies one of these,
//! and stores what it says, so the rules are written once.

use chat_protocol::IdentityKey;

use super::record::{MAX_KEYS, Record};

/// What to store for a name after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Nothing changes (the answer is the record as it is).
    Keep,
    /// The name's record is now this.
    Put(Record),
    /// The name is no longer registered.
    Delete,
}

/// Why a change was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The name is registered to other keys (a registration lost to
    /// another, or a session that proved none of them).
    Taken(Box<Record>),
    /// The session did not prove one of the name's keys, or the name is
    /// not registered.
    NotOwner,
    /// The name holds [`MAX_KEYS`] keys already.
    TooManyKeys,
    /// The name's last key: only the admin removes it.
    LastKey,
    /// The admin named a name that is not registered.
    NoSuchName,
}

/// Who asks for a change of keys: a session that proved `key` at its join,
/// or the server's admin.
#[derive(Clone, Copy, Debug)]
pub enum By {
    /// A session, with the key it proved (none: not an owner).
    Session(Option<IdentityKey>),
    /// The server's admin.
    Admin,
}

/// A first-come join registers `name` to `key`: made when absent, kept
/// when it already holds the key (another session of the same person
/// registered it just before), refused when someone else registered it
/// first.
pub fn register(
    name: &str,
    key: IdentityKey,
    now: u64,
) -> impl Fn(Option<&Record>) -> Result<Edit, Refusal> {
    let name = name.to_string();
    move |record| match record {
        None => Ok(Edit::Put(Record::new(&name, key, now))),
        Some(r) if r.holds(&key) => Ok(Edit::Keep),
        Some(r) => Err(Refusal::Taken(Box::new(r.clone()))),
    }
}

/// The owner's session, or the admin, adds `key` to `name` (the admin
/// also registers a name that is not yet).
pub fn add_key(
    name: &str,
    key: IdentityKey,
    by: By,
    now: u64,
) -> impl Fn(Option<&Record>) -> Result<Edit, Refusal> {
    let name = name.to_string();
    move |record| {
        let record = match (record, by) {
            (None, By::Admin) => return Ok(Edit::Put(Record::new(&name, key, now))),
            (None, By::Session(_)) => return Err(Refusal::NotOwner),
            (Some(r), By::Session(proven)) if !r.proven_by(proven.as_ref()) => {
                return Err(Refusal::NotOwner);
            }
            (Some(r), _) => r,
        };
        if record.holds(&key) {
            return Ok(Edit::Keep);
        }
        if record.keys.len() >= MAX_KEYS {
            return Err(Refusal::TooManyKeys);
        }
        let mut record = record.clone();
        record.keys.push(key);
        Ok(Edit::Put(record))
    }
}

/// The owner's session, or the admin, removes `key` from a name: a session
/// never removes the last key; the admin's removal of it frees the name.
pub fn remove_key(key: IdentityKey, by: By) -> impl Fn(Option<&Record>) -> Result<Edit, Refusal> {
    move |record| {
        let record = match (record, by) {
            (None, By::Admin) => return Err(Refusal::NoSuchName),
            (None, By::Session(_)) => return Err(Refusal::NotOwner),
            (Some(r), By::Session(proven)) if !r.proven_by(proven.as_ref()) => {
                return Err(Refusal::NotOwner);
            }
            (Some(r), _) => r,
        };
        if !record.holds(&key) {
            return Ok(Edit::Keep);
        }
        if record.keys.len() == 1 {
            return match by {
                By::Admin => Ok(Edit::Delete),
                By::Session(_) => Err(Refusal::LastKey),
            };
        }
        let mut record = record.clone();
        record.keys.retain(|k| *k != key);
        Ok(Edit::Put(record))
    }
}

/// The admin frees a name.
pub fn remove_name(record: Option<&Record>) -> Result<Edit, Refusal> {
    match record {
        None => Err(Refusal::NoSuchName),
        Some(_) => Ok(Edit::Delete),
    }
}

/// The record after `edit` was stored over `before`.
pub fn after(before: Option<&Record>, edit: &Edit) -> Option<Record> {
    match edit {
        Edit::Keep => before.cloned(),
        Edit::Put(record) => Some(record.clone()),
        Edit::Delete => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::Identity;

    fn key(seed: u8) -> IdentityKey {
        Identity::from_seed(&[seed; 32]).public()
    }

    #[test]
    fn registration_is_first_come_and_idempotent_for_its_key() {
        let made = register("ace", key(1), 5)(None).unwrap();
        let Edit::Put(record) = made else {
            panic!("{made:?}")
        };
        assert_eq!(record, Record::new("ace", key(1), 5));
        assert_eq!(register("ACE", key(1), 6)(Some(&record)), Ok(Edit::Keep));
        assert_eq!(
            register("ace", key(2), 6)(Some(&record)),
            Err(Refusal::Taken(Box::new(record)))
        );
    }

    #[test]
    fn owners_and_the_admin_change_keys_within_the_rules() {
        let record = Record::new("ace", key(1), 5);
        let owner = By::Session(Some(key(1)));
        let stranger = By::Session(Some(key(9)));
        assert_eq!(
            add_key("ace", key(2), stranger, 6)(Some(&record)),
            Err(Refusal::NotOwner)
        );
        assert_eq!(
            add_key("ace", key(2), By::Session(None), 6)(Some(&record)),
            Err(Refusal::NotOwner)
        );
        assert_eq!(
            add_key("ace", key(2), owner, 6)(None),
            Err(Refusal::NotOwner)
        );
        let Ok(Edit::Put(two)) = add_key("ace", key(2), owner, 6)(Some(&record)) else {
            panic!()
        };
        assert_eq!(two.keys, [key(1), key(2)]);
        assert_eq!(add_key("ace", key(2), owner, 6)(Some(&two)), Ok(Edit::Keep));
        // The admin registers a name that is not.
        assert_eq!(
            add_key("bob", key(3), By::Admin, 7)(None),
            Ok(Edit::Put(Record::new("bob", key(3), 7)))
        );
        let mut full = record.clone();
        full.keys = (1..=MAX_KEYS as u8).map(key).collect();
        assert_eq!(
            add_key("ace", key(99), By::Admin, 6)(Some(&full)),
            Err(Refusal::TooManyKeys)
        );
        // Removal: the last key is the admin's to remove, and frees the name.
        assert_eq!(
            remove_key(key(1), owner)(Some(&record)),
            Err(Refusal::LastKey)
        );
        assert_eq!(
            remove_key(key(1), By::Admin)(Some(&record)),
            Ok(Edit::Delete)
        );
        assert_eq!(
            remove_key(key(1), By::Session(Some(key(2))))(Some(&two)),
            Ok(Edit::Put(Record {
                keys: vec![key(2)],
                ..two.clone()
            }))
        );
        assert_eq!(remove_key(key(7), owner)(Some(&two)), Ok(Edit::Keep));
        assert_eq!(
            remove_key(key(7), By::Admin)(None),
            Err(Refusal::NoSuchName)
        );
        assert_eq!(remove_name(None), Err(Refusal::NoSuchName));
        assert_eq!(remove_name(Some(&two)), Ok(Edit::Delete));
        assert_eq!(after(Some(&two), &Edit::Keep), Some(two.clone()));
        assert_eq!(after(Some(&two), &Edit::Delete), None);
    }
}
