//! The `Auth`: the first sealed client message (c2s #0), who wants to
//! join, with what password, and (optionally) the proof of an identity
//! for this session (docs/protocol.md §10.2, §12).

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::identity::{Identity, IdentityError, IdentityKey};

/// First sealed client message (c2s #0): who wants to join.
/// On the wire: `{"type":"auth","username":…,"password":…,"client":…}`.
/// The password is wiped from memory when the `Auth` (and each clone: a
/// reconnecting client keeps one to join again) is dropped.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename = "auth")]
pub struct Auth {
    /// Requested username.
    pub username: String,
    /// The join password; empty when the user has none.
    #[serde(default)]
    pub password: Zeroizing<String>,
    /// Client software and version, for the server's logs.
    #[serde(default)]
    pub client: String,
    /// Resume: the id of the last message this client saw (from an earlier
    /// session). The `Welcome`'s history then holds the messages after it
    /// (at most the server's `history`), and `gap` says when some of them
    /// are no longer kept. Absent: the most recent history, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// The client's identity: the bare unpadded base64url of its Ed25519
    /// public key, as sent (checked by [`Auth::verify_identity`]). Comes
    /// with `proof`, or is absent with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The proof of `identity` for this session: the bare unpadded
    /// base64url of the signature of `"chat v1 identity proof" ‖ th`
    /// (see [`crate::identity`]); set by [`Auth::prove`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("username", &self.username)
            .field("password", &"..")
            .field("client", &self.client)
            .field("after", &self.after)
            .field("identity", &self.identity)
            .field("proof", &self.proof.as_ref().map(|_| ".."))
            .finish()
    }
}

impl Auth {
    /// Reads an `Auth` strictly: `"type":"auth"` is required (serde's tag on
    /// a struct is written but not checked when read), and a member given
    /// twice makes it unreadable, as for every other event (a JSON map would
    /// keep the last one in silence).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Strict {
            #[serde(rename = "type")]
            kind: String,
            username: String,
            #[serde(default)]
            password: Zeroizing<String>,
            #[serde(default)]
            client: String,
            #[serde(default)]
            after: Option<u64>,
            #[serde(default)]
            identity: Option<String>,
            #[serde(default)]
            proof: Option<String>,
        }
        let strict: Strict = crate::json::from_slice_strict(bytes)?;
        (strict.kind == "auth").then(|| Auth {
            username: strict.username,
            password: strict.password,
            client: strict.client,
            after: strict.after,
            identity: strict.identity,
            proof: strict.proof,
        })
    }

    /// Adds `identity`'s public key and its proof for the session whose
    /// transcript hash is `th` (a client does this after the `Challenge`
    /// checked out, before it seals the `Auth`).
    pub fn prove(&mut self, identity: &Identity, th: &[u8; 32]) {
        self.identity = Some(identity.public().to_base64());
        self.proof = Some(crate::identity::proof_to_base64(&identity.prove(th)));
    }

    /// The identity this `Auth` proves for the session whose transcript
    /// hash is `th`: `Ok(None)` when it gives none (neither `identity` nor
    /// `proof`), `Ok(Some(key))` when the proof verifies, else why not
    /// (the server refuses the join with `bad_identity`).
    pub fn verify_identity(&self, th: &[u8; 32]) -> Result<Option<IdentityKey>, IdentityError> {
        match (&self.identity, &self.proof) {
            (None, None) => Ok(None),
            (Some(identity), Some(proof)) => {
                let key = IdentityKey::from_base64(identity)?;
                key.verify(th, &crate::identity::proof_from_base64(proof)?)?;
                Ok(Some(key))
            }
            _ => Err(IdentityError::Unpaired),
        }
    }

    /// The JSON bytes of this `Auth`, to be sealed; wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(self).expect("auth always serializes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_debug_hides_password() {
        let a = Auth {
            username: "ace".into(),
            password: Zeroizing::new("hunter2".into()),
            client: "t".into(),
            after: None,
            identity: None,
            proof: None,
        };
        assert!(!format!("{a:?}").contains("hunter2"));
        let json = String::from_utf8(a.to_bytes().to_vec()).unwrap();
        assert!(
            json.starts_with(r#"{"type":"auth","username":"ace""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Auth>(&json).unwrap(), a);
        assert_eq!(Auth::from_bytes(json.as_bytes()), Some(a));
        assert_eq!(Auth::from_bytes(br#"{"username":"ace"}"#), None);
        assert_eq!(
            Auth::from_bytes(br#"{"type":"say","username":"ace"}"#),
            None
        );
    }

    #[test]
    fn auth_with_a_member_twice_is_unreadable() {
        let once = br#"{"type":"auth","username":"ace","password":"pw","client":"t"}"#;
        assert!(Auth::from_bytes(once).is_some());
        for twice in [
            r#"{"type":"auth","username":"ace","username":"bob","password":"pw"}"#,
            r#"{"type":"auth","username":"ace","password":"x","password":"pw"}"#,
            r#"{"type":"auth","type":"auth","username":"ace"}"#,
            r#"{"type":"auth","username":"ace","client":"a","client":"b"}"#,
        ] {
            assert_eq!(Auth::from_bytes(twice.as_bytes()), None, "{twice}");
        }
    }
}
