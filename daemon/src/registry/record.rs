//! One registered name: its keys, when it was registered and when it was
//! last seen, as `STATE_DIR/names` holds it (one JSON object a line) and a
//! cluster's registry bucket (one JSON value a key).

use chat_protocol::IdentityKey;
use chat_protocol::admin::{NameKey, NameRecord};
use serde::{Deserialize, Serialize};

/// Most keys one name holds (a person's laptop, phone, …).
pub const MAX_KEYS: usize = 8;

/// A name registered to keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The name as it was registered; matched case-insensitively.
    pub name: String,
    /// Its keys (1 to [`MAX_KEYS`], no two alike), oldest first.
    pub keys: Vec<IdentityKey>,
    /// Unix seconds when it was registered.
    pub registered: u64,
    /// Unix seconds when a user of it was last seen (joining, leaving).
    pub last_seen: u64,
}

impl Record {
    /// `name` registered now to `key`.
    pub fn new(name: &str, key: IdentityKey, now: u64) -> Self {
        Self {
            name: name.to_string(),
            keys: vec![key],
            registered: now,
            last_seen: now,
        }
    }

    /// Whether `key` is one of the name's keys.
    pub fn holds(&self, key: &IdentityKey) -> bool {
        self.keys.contains(key)
    }

    /// Whether a join that proved `key` (or none) proves one of the keys.
    pub fn proven_by(&self, key: Option<&IdentityKey>) -> bool {
        key.is_some_and(|k| self.holds(k))
    }

    /// The name folded, as the registry is keyed.
    pub fn folded(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    /// Checks what the types do not: a valid name, 1 to [`MAX_KEYS`] keys,
    /// none twice.
    pub fn check(&self) -> Result<(), String> {
        if !chat_protocol::valid_username(&self.name) {
            return Err("a name that is not 1 to 32 of A-Z a-z 0-9 _ . -".into());
        }
        if self.keys.is_empty() || self.keys.len() > MAX_KEYS {
            return Err(format!(
                "{} keys for {} (a name holds 1 to {MAX_KEYS})",
                self.keys.len(),
                self.name
            ));
        }
        for (i, key) in self.keys.iter().enumerate() {
            if self.keys[..i].contains(key) {
                return Err(format!("the key {key} twice for {}", self.name));
            }
        }
        Ok(())
    }

    /// Reads a record strictly (a member twice, an unknown member, a bad
    /// key or name: refused); `Err` says what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if !chat_protocol::json::no_duplicate_members(bytes) {
            return Err("a member given twice".into());
        }
        let record: Record = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        record.check()?;
        Ok(record)
    }

    /// The record's JSON, on one line.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record always serializes")
    }

    /// As the admin API shows it.
    pub fn to_admin(&self) -> NameRecord {
        NameRecord {
            name: self.name.clone(),
            keys: admin_keys(&self.keys),
            registered: self.registered,
            last_seen: self.last_seen,
        }
    }
}

/// Keys as the admin API shows them: the text form and the fingerprint.
pub fn admin_keys(keys: &[IdentityKey]) -> Vec<NameKey> {
    keys.iter()
        .map(|k| NameKey {
            key: k.to_string(),
            fingerprint: k.fingerprint().to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::Identity;

    fn key(seed: u8) -> IdentityKey {
        Identity::from_seed(&[seed; 32]).public()
    }

    #[test]
    fn a_record_round_trips_and_bad_ones_are_refused() {
        let mut record = Record::new("Ace.B", key(1), 1_700_000_000);
        record.keys.push(key(2));
        let bytes = record.encode();
        assert_eq!(Record::decode(&bytes), Ok(record.clone()));
        assert!(record.holds(&key(2)) && !record.holds(&key(3)));
        assert!(record.proven_by(Some(&key(1))) && !record.proven_by(None));
        assert_eq!(record.folded(), "ace.b");
        let text = String::from_utf8(bytes).unwrap();
        let k1 = key(1).to_string();
        for bad in [
            text.replace("Ace.B", "a b"),
            text.replace(&key(2).to_string(), &k1),
            text.replace("\"name\"", "\"extra\":1,\"name\""),
            text.replace("\"name\":\"Ace.B\"", "\"name\":\"Ace.B\",\"name\":\"x\""),
            text.replace(&k1, "chat-id1_AAAA"),
            r#"{"name":"x","keys":[],"registered":1,"last_seen":1}"#.to_string(),
        ] {
            assert!(Record::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        let many = Record {
            keys: (1..=MAX_KEYS as u8 + 1).map(key).collect(),
            ..record
        };
        assert!(many.check().is_err());
    }
}
