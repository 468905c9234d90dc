use super::*;

fn seeded(start: u8) -> Identity {
    Identity::from_seed(&std::array::from_fn(|i| start.wrapping_add(i as u8)))
}

#[test]
fn text_forms_round_trip() {
    let id = seeded(0xc0);
    let key = id.public();
    let text = key.to_string();
    assert!(text.starts_with("chat-id1_"), "{text}");
    assert_eq!(text.len(), 9 + 43);
    assert_eq!(IdentityKey::parse(&text), Ok(key));
    assert_eq!(IdentityKey::parse(&format!("  {text}\n")), Ok(key));
    assert_eq!(IdentityKey::from_base64(&key.to_base64()), Ok(key));
    assert_eq!(key.to_base64().len(), 43);

    let secret = id.secret_text();
    assert!(secret.starts_with("chat-idsecret1_"));
    let again = Identity::parse_secret(&format!("{}\n", secret.as_str())).unwrap();
    assert_eq!(again.public(), key);
    assert_eq!(*again.seed(), *id.seed());
}

#[test]
fn text_forms_are_parsed_strictly() {
    let key = seeded(0xc0).public();
    let text = key.to_string();
    let body = &text[IDENTITY_PREFIX.len()..];
    assert_eq!(IdentityKey::parse(body), Err(IdentityError::Prefix));
    assert_eq!(
        IdentityKey::parse(&text.replace("chat-id1_", "CHAT-ID1_")),
        Err(IdentityError::Prefix)
    );
    assert_eq!(
        IdentityKey::parse(&format!("{text}=")),
        Err(IdentityError::Encoding)
    );
    let mut standard = body[..42].to_owned();
    standard.push('+');
    assert_eq!(
        IdentityKey::parse(&format!("chat-id1_{standard}")),
        Err(IdentityError::Encoding)
    );
    assert_eq!(
        IdentityKey::parse(&format!("chat-id1_{}", &body[..40])),
        Err(IdentityError::Length(30))
    );
    assert_eq!(
        IdentityKey::parse(&format!("chat-id1_ {body}")),
        Err(IdentityError::Encoding)
    );
    // The last character carries 4 bits of the key and 2 of padding,
    // which must be zero.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = ALPHABET
        .iter()
        .position(|&c| c == body.as_bytes()[42])
        .unwrap();
    let mut trailing = body[..42].to_owned();
    trailing.push(ALPHABET[last | 1] as char);
    assert_eq!(
        IdentityKey::from_base64(&trailing),
        Err(IdentityError::Encoding)
    );
    // Secrets in the wrong place are named, never echoed.
    let token = crate::Token {
        join_key: crate::JoinKey([7; 32]),
        server_public: [9; 32],
    }
    .encode();
    assert_eq!(IdentityKey::parse(&token), Err(IdentityError::Token));
    let secret = seeded(0xc0).secret_text();
    assert_eq!(IdentityKey::parse(&secret), Err(IdentityError::Secret));
    assert!(!IdentityError::Secret.to_string().contains(&secret[15..]));
    assert_eq!(
        Identity::parse_secret(&text).err(),
        Some(IdentityError::Prefix)
    );
    assert_eq!(
        Identity::parse_secret(&secret[..secret.len() - 3]).err(),
        Some(IdentityError::Length(30))
    );
}

#[test]
fn weak_and_non_canonical_keys_are_refused() {
    // The identity point and a point of order 4 (x = sqrt(-1), y = 0).
    let identity = {
        let mut b = [0u8; 32];
        b[0] = 1;
        b
    };
    assert_eq!(
        IdentityKey::from_bytes(&identity),
        Err(IdentityError::NotAKey)
    );
    assert_eq!(
        IdentityKey::from_bytes(&[0; 32]),
        Err(IdentityError::NotAKey)
    );
    // y = p + k for small k: non-canonical encodings of y = k. Some decode
    // to points of the curve (ZIP-215 takes them); none is accepted.
    let mut decoded = 0;
    for k in 0u8..19 {
        let mut b = [0xff; 32];
        b[0] = 0xed + k;
        b[31] = 0x7f;
        if VerifyingKey::from_bytes(&b).is_ok_and(|v| !v.is_weak()) {
            decoded += 1;
        }
        assert_eq!(
            IdentityKey::from_bytes(&b),
            Err(IdentityError::NotAKey),
            "{k}"
        );
    }
    assert!(
        decoded > 0,
        "the test covers a non-canonical key ed25519-dalek decodes"
    );
    // x = 0 with the sign bit set: the identity point written as "-0".
    let mut negative_zero = identity;
    negative_zero[31] |= 0x80;
    assert_eq!(
        IdentityKey::from_bytes(&negative_zero),
        Err(IdentityError::NotAKey)
    );
    // Bytes that are no point at all (y = 2 has no x on the curve).
    let mut two = [0u8; 32];
    two[0] = 2;
    assert_eq!(IdentityKey::from_bytes(&two), Err(IdentityError::NotAKey));
}

#[test]
fn a_proof_holds_for_one_key_and_one_session() {
    let ace = seeded(0xc0);
    let eve = seeded(0x10);
    let th = [0x42; 32];
    let proof = ace.prove(&th);
    assert_eq!(ace.public().verify(&th, &proof), Ok(()));
    // Another session's th, another key, a flipped bit.
    assert_eq!(
        ace.public().verify(&[0x43; 32], &proof),
        Err(IdentityError::BadProof)
    );
    assert_eq!(
        eve.public().verify(&th, &proof),
        Err(IdentityError::BadProof)
    );
    let mut flipped = proof;
    flipped[10] ^= 1;
    assert_eq!(
        ace.public().verify(&th, &flipped),
        Err(IdentityError::BadProof)
    );
    // A non-canonical s (s + L) is refused though it is "the same" signature.
    let mut malleable = proof;
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (s, l) in malleable[32..].iter_mut().zip(l) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(
        ace.public().verify(&th, &malleable),
        Err(IdentityError::BadProof)
    );
}

#[test]
fn fingerprints_are_16_hex_digits_and_not_key_ids() {
    let key = seeded(0xc0).public();
    let fp = key.fingerprint().to_string();
    assert_eq!(fp.len(), 16);
    assert!(
        fp.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_ne!(seeded(0xc1).public().fingerprint(), key.fingerprint());
    let digest = Sha256::new()
        .chain_update(b"chat v1 identity fingerprint")
        .chain_update(key.to_bytes())
        .finalize();
    assert_eq!(fp, crate::hex::encode(&digest[..8]));
}

#[test]
fn serde_uses_the_text_form_strictly() {
    let key = seeded(0xc0).public();
    let json = serde_json::to_string(&key).unwrap();
    assert_eq!(json, format!("\"{key}\""));
    assert_eq!(serde_json::from_str::<IdentityKey>(&json).unwrap(), key);
    assert!(serde_json::from_str::<IdentityKey>(&format!("\" {key}\"")).is_err());
    assert!(serde_json::from_str::<IdentityKey>(&format!("\"{}\"", key.to_base64())).is_err());
}

#[test]
fn debug_never_shows_the_private_key() {
    let id = seeded(0xc0);
    let debug = format!("{id:?}");
    assert!(debug.contains(&id.public().to_string()), "{debug}");
    let secret = id.secret_text();
    assert!(!debug.contains(&secret[SECRET_PREFIX.len()..]), "{debug}");
    assert!(!debug.contains("c0c1c2"), "{debug}");
}

fn auth() -> crate::Auth {
    crate::Auth {
        username: "ace".into(),
        password: String::from("pw").into(),
        client: "t".into(),
        after: None,
        identity: None,
        proof: None,
    }
}

#[test]
fn an_auth_proves_its_identity_for_its_session() {
    let ace = seeded(0xc0);
    let th = [7; 32];
    let mut auth = auth();
    assert_eq!(auth.verify_identity(&th), Ok(None));
    auth.prove(&ace, &th);
    assert_eq!(auth.verify_identity(&th), Ok(Some(ace.public())));
    // Written and read back, the members stay as they were.
    let read = crate::Auth::from_bytes(&auth.to_bytes()).unwrap();
    assert_eq!(read, auth);
    assert_eq!(read.verify_identity(&th), Ok(Some(ace.public())));
    // Replayed into another session.
    assert_eq!(auth.verify_identity(&[8; 32]), Err(IdentityError::BadProof));
    // The proof is not printed by Debug (it is not secret, but long).
    assert!(!format!("{auth:?}").contains(auth.proof.as_deref().unwrap()));
}

#[test]
fn an_auth_with_half_an_identity_or_a_bad_one_is_refused() {
    let ace = seeded(0xc0);
    let th = [7; 32];
    let mut proven = auth();
    proven.prove(&ace, &th);
    let identity = proven.identity.clone();
    let proof = proven.proof.clone();

    let only_key = crate::Auth {
        identity: identity.clone(),
        ..auth()
    };
    assert_eq!(only_key.verify_identity(&th), Err(IdentityError::Unpaired));
    let only_proof = crate::Auth {
        proof: proof.clone(),
        ..auth()
    };
    assert_eq!(
        only_proof.verify_identity(&th),
        Err(IdentityError::Unpaired)
    );

    let cases = [
        (Some("".to_owned()), proof.clone(), IdentityError::Length(0)),
        // The text form is not what the Auth carries (its prefix is
        // base64url too: 52 characters, 39 bytes).
        (
            Some(ace.public().to_string()),
            proof.clone(),
            IdentityError::Length(39),
        ),
        (
            Some(format!("{}=", identity.as_deref().unwrap())),
            proof.clone(),
            IdentityError::Encoding,
        ),
        (
            Some(IdentityKey(ace.public().to_bytes()).to_base64()[..42].to_owned()),
            proof.clone(),
            IdentityError::Encoding,
        ),
        (
            Some(URL_SAFE_NO_PAD.encode([0u8; 32])),
            proof.clone(),
            IdentityError::NotAKey,
        ),
        (
            identity.clone(),
            Some(proof.as_deref().unwrap()[..84].to_owned()),
            IdentityError::ProofEncoding,
        ),
        (
            identity.clone(),
            Some(format!("{}==", proof.as_deref().unwrap())),
            IdentityError::ProofEncoding,
        ),
        (
            Some(seeded(0x10).public().to_base64()),
            proof.clone(),
            IdentityError::BadProof,
        ),
    ];
    for (identity, proof, why) in cases {
        let bad = crate::Auth {
            identity,
            proof,
            ..auth()
        };
        assert_eq!(bad.verify_identity(&th), Err(why), "{bad:?}");
    }
}
