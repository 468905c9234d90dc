//! Checks `docs/protocol.md` against this crate: the known-answer vectors
//! (recomputed with both handshake state machines, and a second time with
//! the bare primitives, so the crate is not only compared with itself), the
//! event examples, and the constants the document names. If the document or
//! the code drifts, this fails.

use std::collections::BTreeMap;
use std::path::Path;

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_protocol::handshake::{CHALLENGE_BODY_LEN, CHALLENGE_LEN, HELLO_LEN};
use chat_protocol::sizes::{
    CLIENT_OVERHEAD, MAX_AUTH, MAX_SERVER_MESSAGE, TAG_LEN, max_client_message,
};
use chat_protocol::{
    Auth, ByeCode, ClientEvent, ClientHandshake, ErrorCode, HandshakeError, Identity,
    IdentityError, IdentityKey, JoinKey, KeyId, ModerationAction, OpenError, Opener, RateLimit,
    RejectCode, Sealer, ServerEvent, ServerHandshake, ServerIdentity, Token, Welcome,
};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

/// Every name the `kat` block must give, and nothing else.
const NAMES: &[&str] = &[
    "k",
    "s_priv",
    "e_c_priv",
    "e_s_priv",
    "r_c",
    "r_s",
    "s_pub",
    "token",
    "key_id",
    "e_c_pub",
    "e_s_pub",
    "hello",
    "challenge",
    "ee",
    "es",
    "th",
    "prk",
    "k_c2s",
    "k_s2c",
    "auth_plain",
    "auth_sealed",
    "welcome_plain",
    "welcome_sealed",
    "identity_seed",
    "identity_pub",
    "identity_text",
    "identity_fingerprint",
    "identity_proof",
    "auth_identity_plain",
    "auth_identity_sealed",
];

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The lines of every fenced block whose info string is exactly `info`.
fn blocks<'a>(doc: &'a str, info: &str) -> Vec<Vec<&'a str>> {
    let open = format!("```{info}");
    let mut found = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() != open {
            continue;
        }
        let mut body = Vec::new();
        loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("unterminated ```{info} block"));
            if line.trim_start().starts_with("```") {
                break;
            }
            body.push(line);
        }
        found.push(body);
    }
    found
}

/// Strict lowercase hex, decoded without the crate's own decoder.
fn unhex(name: &str, text: &str) -> Vec<u8> {
    assert!(
        text.len().is_multiple_of(2)
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "kat value {name} is not lowercase hex: {text}"
    );
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `kat` block of the document, by name.
struct Kat(BTreeMap<String, String>);

impl Kat {
    fn load() -> Self {
        let doc = doc();
        let found = blocks(&doc, "kat");
        assert_eq!(
            found.len(),
            1,
            "docs/protocol.md needs exactly one kat block"
        );
        let mut map = BTreeMap::new();
        for line in &found[0] {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("kat line is not `name = value`: {line}"));
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            assert!(
                map.insert(name.clone(), value).is_none(),
                "kat name {name} given twice"
            );
        }
        Self(map)
    }

    fn text(&self, name: &str) -> &str {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("kat block lacks {name}"))
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        unhex(name, self.text(name))
    }

    fn b32(&self, name: &str) -> [u8; 32] {
        self.bytes(name)
            .try_into()
            .unwrap_or_else(|_| panic!("kat value {name} is not 32 bytes"))
    }

    /// Asserts that `name` is `actual`, in the document's hex.
    fn check(&self, name: &str, actual: &[u8]) {
        assert_eq!(self.text(name), hex(actual), "kat value {name}");
    }
}

fn seq(start: u8) -> [u8; 32] {
    std::array::from_fn(|i| start + i as u8)
}

fn auth_event() -> Auth {
    Auth {
        username: "ace".into(),
        password: String::from("top_secret").into(),
        client: "chat/0.1.0".into(),
        after: None,
        identity: None,
        proof: None,
    }
}

fn welcome_event() -> ServerEvent {
    ServerEvent::Welcome(Welcome {
        default_room: None,
        rooms: Vec::new(),
        topic: None,
        name: "ace".into(),
        users: vec!["ace".into()],
        members: vec![],
        more: false,
        history: vec![],
        motd: None,
        rate: RateLimit {
            burst: 10,
            per_second: 5,
        },
        max_text: 4096,
        server: "chatd/0.1.0".into(),
        gap: false,
        resumed: false,
        last_id: None,
    })
}

#[test]
fn kat_block_has_every_name_and_the_design_inputs() {
    let kat = Kat::load();
    let mut expected: Vec<&str> = NAMES.to_vec();
    expected.sort_unstable();
    let given: Vec<&str> = kat.0.keys().map(String::as_str).collect();
    assert_eq!(given, expected, "names in the kat block");
    // The inputs are fixed by DESIGN.md.
    for (name, start) in [
        ("k", 0x00),
        ("s_priv", 0x20),
        ("e_c_priv", 0x40),
        ("e_s_priv", 0x60),
        ("r_c", 0x80),
        ("r_s", 0xa0),
        ("identity_seed", 0xc0),
    ] {
        assert_eq!(kat.b32(name), seq(start), "input {name}");
    }
}

#[test]
fn both_state_machines_reproduce_the_vectors() {
    let kat = Kat::load();
    let identity = ServerIdentity::from_secret_bytes(&kat.b32("s_priv"));
    kat.check("s_pub", &identity.public());
    let token = Token {
        join_key: JoinKey(kat.b32("k")),
        server_public: identity.public(),
    };
    assert_eq!(token.encode(), kat.text("token"));
    assert_eq!(Token::parse(kat.text("token")).unwrap(), token);
    assert_eq!(token.key_id().to_string(), kat.text("key_id"));

    // Client: Hello.
    let client = ClientHandshake::with_secrets(&token, kat.b32("e_c_priv"), kat.b32("r_c"));
    kat.check("hello", client.hello());

    // Server: Challenge and keys, from the Hello in the document.
    let lookup = |id: &KeyId| (*id == token.key_id()).then(|| token.join_key.clone());
    let server = ServerHandshake::new(&identity)
        .respond_with(
            &kat.bytes("hello"),
            lookup,
            kat.b32("e_s_priv"),
            kat.b32("r_s"),
        )
        .expect("the server accepts the Hello");
    assert_eq!(server.key_id.to_string(), kat.text("key_id"));
    kat.check("challenge", &server.challenge);
    kat.check("th", &server.keys.th);
    kat.check("k_c2s", &server.keys.c2s);
    kat.check("k_s2c", &server.keys.s2c);

    // Client: checks the Challenge in the document and derives the same keys.
    let (mut client_session, client_keys) = client
        .on_challenge(&kat.bytes("challenge"))
        .expect("the client accepts the Challenge");
    kat.check("th", &client_keys.th);
    kat.check("k_c2s", &client_keys.c2s);
    kat.check("k_s2c", &client_keys.s2c);

    // The plaintexts are what the event types write.
    kat.check("auth_plain", &auth_event().to_bytes());
    kat.check("welcome_plain", &welcome_event().to_bytes());

    // Auth: sealed by the client at c2s #0, opened by the server.
    assert_eq!(client_session.sealer.counter(), 0);
    let auth_sealed = client_session
        .sealer
        .seal(&kat.bytes("auth_plain"))
        .unwrap();
    kat.check("auth_sealed", &auth_sealed);
    let mut server_session = server.session;
    let opened = server_session
        .opener
        .open(&kat.bytes("auth_sealed"), MAX_AUTH)
        .expect("the server opens the Auth");
    kat.check("auth_plain", &opened);
    assert_eq!(
        serde_json::from_slice::<Auth>(&opened).unwrap(),
        auth_event()
    );

    // Welcome: sealed by the server at s2c #1 (the Challenge tag was #0),
    // opened by the client.
    assert_eq!(server_session.sealer.counter(), 1);
    let welcome_sealed = server_session
        .sealer
        .seal(&kat.bytes("welcome_plain"))
        .unwrap();
    kat.check("welcome_sealed", &welcome_sealed);
    let opened = client_session
        .opener
        .open(&kat.bytes("welcome_sealed"), MAX_SERVER_MESSAGE)
        .expect("the client opens the Welcome");
    kat.check("welcome_plain", &opened);
    assert_eq!(
        serde_json::from_slice::<ServerEvent>(&opened).unwrap(),
        welcome_event()
    );

    // The Auth with an identity: the proof over this session's th, made by
    // the client and verified by the server.
    let identity = Identity::from_seed(&kat.b32("identity_seed"));
    kat.check("identity_pub", &identity.public().to_bytes());
    assert_eq!(identity.public().to_string(), kat.text("identity_text"));
    assert_eq!(
        IdentityKey::parse(kat.text("identity_text")).unwrap(),
        identity.public()
    );
    assert_eq!(
        identity.public().fingerprint().to_string(),
        kat.text("identity_fingerprint")
    );
    kat.check("identity_proof", &identity.prove(&client_keys.th));
    let mut proven = auth_event();
    proven.prove(&identity, &client_keys.th);
    kat.check("auth_identity_plain", &proven.to_bytes());
    let sealed = ClientHandshake::with_secrets(&token, kat.b32("e_c_priv"), kat.b32("r_c"))
        .on_challenge(&kat.bytes("challenge"))
        .unwrap()
        .0
        .sealer
        .seal(&proven.to_bytes())
        .unwrap();
    kat.check("auth_identity_sealed", &sealed);
    let opened = ServerHandshake::new(&ServerIdentity::from_secret_bytes(&kat.b32("s_priv")))
        .respond_with(
            &kat.bytes("hello"),
            lookup,
            kat.b32("e_s_priv"),
            kat.b32("r_s"),
        )
        .unwrap()
        .session
        .opener
        .open(&kat.bytes("auth_identity_sealed"), MAX_AUTH)
        .expect("the server opens the Auth with an identity");
    let read = Auth::from_bytes(&opened).unwrap();
    assert_eq!(read, proven);
    assert_eq!(
        read.verify_identity(&server.keys.th),
        Ok(Some(identity.public()))
    );

    // The same with bare sealers at the stated counters.
    let keys = &server.keys;
    kat.check(
        "auth_sealed",
        &Sealer::new(&keys.c2s, 0)
            .seal(&kat.bytes("auth_plain"))
            .unwrap(),
    );
    kat.check(
        "welcome_sealed",
        &Sealer::new(&keys.s2c, 1)
            .seal(&kat.bytes("welcome_plain"))
            .unwrap(),
    );
}

/// HMAC-SHA256 (RFC 2104) from SHA-256 alone, so the key schedule is
/// checked without the `hkdf` crate the code uses.
fn hmac_sha256(key: &[u8], data: &[&[u8]]) -> [u8; 32] {
    assert!(key.len() <= 64);
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in data {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::from(n)
}

fn aead_seal(key: &[u8], counter: u64, plaintext: &[u8]) -> Vec<u8> {
    Aes256GcmSiv::new_from_slice(key)
        .unwrap()
        .encrypt(
            &nonce(counter),
            Payload {
                msg: plaintext,
                aad: b"",
            },
        )
        .unwrap()
}

#[test]
fn bare_primitives_reproduce_the_vectors() {
    let kat = Kat::load();
    let k = kat.b32("k");

    // Keys, token and key id.
    let s_priv = StaticSecret::from(kat.b32("s_priv"));
    let s_pub = PublicKey::from(&s_priv).to_bytes();
    kat.check("s_pub", &s_pub);
    let mut both = k.to_vec();
    both.extend_from_slice(&s_pub);
    assert_eq!(
        format!("chat1_{}", URL_SAFE_NO_PAD.encode(&both)),
        kat.text("token")
    );
    assert_eq!(kat.text("token").len(), 92);
    let digest = Sha256::new()
        .chain_update(b"chat v1 key id")
        .chain_update(k)
        .chain_update(s_pub)
        .finalize();
    kat.check("key_id", &digest[..8]);

    // Hello, laid out by the table.
    let e_c = StaticSecret::from(kat.b32("e_c_priv"));
    let e_c_pub = PublicKey::from(&e_c).to_bytes();
    kat.check("e_c_pub", &e_c_pub);
    let mut hello = b"CHAT\x01\x01".to_vec();
    hello.extend_from_slice(&digest[..8]);
    hello.extend_from_slice(&e_c_pub);
    hello.extend_from_slice(&kat.b32("r_c"));
    assert_eq!(hello.len(), HELLO_LEN);
    kat.check("hello", &hello);

    // Challenge body, laid out by the table.
    let e_s = StaticSecret::from(kat.b32("e_s_priv"));
    let e_s_pub = PublicKey::from(&e_s).to_bytes();
    kat.check("e_s_pub", &e_s_pub);
    let mut body = b"CHAT\x02\x01".to_vec();
    body.extend_from_slice(&e_s_pub);
    body.extend_from_slice(&kat.b32("r_s"));
    assert_eq!(body.len(), CHALLENGE_BODY_LEN);
    let challenge = kat.bytes("challenge");
    assert_eq!(challenge.len(), CHALLENGE_LEN);
    assert_eq!(&challenge[..CHALLENGE_BODY_LEN], body.as_slice());

    // Diffie-Hellman, computed from both ends.
    let ee = e_c.diffie_hellman(&PublicKey::from(e_s_pub)).to_bytes();
    assert_eq!(ee, e_s.diffie_hellman(&PublicKey::from(e_c_pub)).to_bytes());
    kat.check("ee", &ee);
    let es = e_c.diffie_hellman(&PublicKey::from(s_pub)).to_bytes();
    assert_eq!(
        es,
        s_priv.diffie_hellman(&PublicKey::from(e_c_pub)).to_bytes()
    );
    kat.check("es", &es);

    // Transcript hash over the bytes in the document.
    let th: [u8; 32] = Sha256::new()
        .chain_update(b"chat v1 handshake")
        .chain_update(kat.bytes("hello"))
        .chain_update(&challenge[..CHALLENGE_BODY_LEN])
        .finalize()
        .into();
    kat.check("th", &th);

    // HKDF written out: Extract = HMAC(K, ee ‖ es); one-block Expand =
    // HMAC(prk, label ‖ th ‖ 0x01).
    let prk = hmac_sha256(&k, &[&ee, &es]);
    kat.check("prk", &prk);
    let k_c2s = hmac_sha256(&prk, &[b"chat v1 c2s", &th, &[1]]);
    let k_s2c = hmac_sha256(&prk, &[b"chat v1 s2c", &th, &[1]]);
    kat.check("k_c2s", &k_c2s);
    kat.check("k_s2c", &k_s2c);

    // Sealing: the Challenge tag (s2c #0), Auth (c2s #0), Welcome (s2c #1).
    assert_eq!(aead_seal(&k_s2c, 0, b""), &challenge[CHALLENGE_BODY_LEN..]);
    kat.check(
        "auth_sealed",
        &aead_seal(&k_c2s, 0, &kat.bytes("auth_plain")),
    );
    kat.check(
        "welcome_sealed",
        &aead_seal(&k_s2c, 1, &kat.bytes("welcome_plain")),
    );
    assert_eq!(
        kat.bytes("auth_sealed").len(),
        kat.bytes("auth_plain").len() + TAG_LEN
    );

    // The identity, with ed25519-dalek's own API and base64 by hand: the
    // public key, its text form and fingerprint, the proof (the signature
    // of the 22-byte label ‖ th, 54 bytes), the Auth's members and its seal.
    use ed25519_dalek::{Signer as _, SigningKey};
    let signing = SigningKey::from_bytes(&kat.b32("identity_seed"));
    let public = signing.verifying_key().to_bytes();
    kat.check("identity_pub", &public);
    assert_eq!(
        format!("chat-id1_{}", URL_SAFE_NO_PAD.encode(public)),
        kat.text("identity_text")
    );
    let digest = Sha256::new()
        .chain_update(b"chat v1 identity fingerprint")
        .chain_update(public)
        .finalize();
    kat.check("identity_fingerprint", &digest[..8]);
    let mut message = b"chat v1 identity proof".to_vec();
    assert_eq!(message.len(), 22);
    message.extend_from_slice(&th);
    let signature = signing.sign(&message).to_bytes();
    kat.check("identity_proof", &signature);
    signing
        .verifying_key()
        .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
        .expect("the proof verifies strictly");
    let plain = format!(
        r#"{{"type":"auth","username":"ace","password":"top_secret","client":"chat/0.1.0","identity":"{}","proof":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public),
        URL_SAFE_NO_PAD.encode(signature)
    );
    kat.check("auth_identity_plain", plain.as_bytes());
    kat.check(
        "auth_identity_sealed",
        &aead_seal(&k_c2s, 0, &kat.bytes("auth_identity_plain")),
    );
}

#[test]
fn the_vectors_fail_when_anything_is_off() {
    let kat = Kat::load();
    let identity = ServerIdentity::from_secret_bytes(&kat.b32("s_priv"));
    let token = Token::parse(kat.text("token")).unwrap();
    let k_c2s = kat.b32("k_c2s");
    let k_s2c = kat.b32("k_s2c");

    // A tampered Auth, a Welcome under the wrong counter or key.
    let mut auth = kat.bytes("auth_sealed");
    auth[3] ^= 1;
    assert_eq!(
        Opener::new(&k_c2s, 0).open(&auth, MAX_AUTH),
        Err(OpenError::Forged)
    );
    let welcome = kat.bytes("welcome_sealed");
    for counter in [0, 2] {
        assert_eq!(
            Opener::new(&k_s2c, counter).open(&welcome, MAX_SERVER_MESSAGE),
            Err(OpenError::Forged)
        );
    }
    assert_eq!(
        Opener::new(&k_c2s, 1).open(&welcome, MAX_SERVER_MESSAGE),
        Err(OpenError::Forged)
    );

    // A Challenge with a wrong tag is an impostor's.
    let client = ClientHandshake::with_secrets(&token, kat.b32("e_c_priv"), kat.b32("r_c"));
    let mut challenge = kat.bytes("challenge");
    challenge[CHALLENGE_LEN - 1] ^= 1;
    assert_eq!(
        client.on_challenge(&challenge).err(),
        Some(HandshakeError::Impostor)
    );

    // A server that does not know the key names the client's key id.
    let err = ServerHandshake::new(&identity)
        .respond_with(
            &kat.bytes("hello"),
            |_: &KeyId| None,
            kat.b32("e_s_priv"),
            kat.b32("r_s"),
        )
        .err();
    assert_eq!(err, Some(HandshakeError::UnknownKey(token.key_id())));

    // A proof holds for its session only, and for its key only.
    let proven = Auth::from_bytes(&kat.bytes("auth_identity_plain")).unwrap();
    let th = kat.b32("th");
    assert!(proven.verify_identity(&th).is_ok());
    let mut other_th = th;
    other_th[31] ^= 1;
    assert_eq!(
        proven.verify_identity(&other_th),
        Err(IdentityError::BadProof)
    );
    let stranger = Identity::from_seed(&[0x55; 32]);
    let relabelled = Auth {
        identity: Some(stranger.public().to_base64()),
        ..proven.clone()
    };
    assert_eq!(
        relabelled.verify_identity(&th),
        Err(IdentityError::BadProof)
    );

    // The token is parsed strictly, but surrounding whitespace is trimmed.
    let text = kat.text("token");
    assert_eq!(Token::parse(&format!(" {text}\n")).unwrap(), token);
    assert!(Token::parse(&format!("{text}==")).is_err());
    assert!(Token::parse(&text.replace("chat1_", "CHAT1_")).is_err());
}

#[test]
fn the_plaintexts_are_stated_verbatim() {
    let doc = doc();
    let kat = Kat::load();
    for name in ["auth_plain", "welcome_plain", "auth_identity_plain"] {
        let plain = String::from_utf8(kat.bytes(name)).unwrap();
        let stated = blocks(&doc, "text")
            .iter()
            .any(|block| block.len() == 1 && block[0] == plain);
        assert!(stated, "{name} is not stated in a text block: {plain}");
    }
}

/// The examples of the event section: each line parses, is a known event and
/// is written back byte for byte.
#[test]
fn the_event_examples_round_trip() {
    let doc = doc();
    let lines = |info: &str| -> Vec<String> {
        blocks(&doc, info)
            .into_iter()
            .flatten()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let type_of = |line: &str| -> String {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        value["type"].as_str().unwrap().to_string()
    };

    let auths = lines("json auth");
    assert_eq!(
        auths.len(),
        3,
        "a plain Auth, one that resumes, one with an identity"
    );
    for line in &auths {
        let auth = Auth::from_bytes(line.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(auth.to_bytes().to_vec()).unwrap(), *line);
    }
    assert_eq!(
        Auth::from_bytes(auths[1].as_bytes()).unwrap().after,
        Some(1234)
    );
    let kat = Kat::load();
    assert_eq!(auths[2].as_bytes(), kat.bytes("auth_identity_plain"));
    assert!(
        Auth::from_bytes(auths[2].as_bytes())
            .unwrap()
            .verify_identity(&kat.b32("th"))
            .unwrap()
            .is_some()
    );

    let mut seen = Vec::new();
    for line in lines("json client-event") {
        let event: ClientEvent = serde_json::from_str(&line).unwrap();
        assert_ne!(event, ClientEvent::Unknown, "{line}");
        assert_eq!(String::from_utf8(event.to_bytes()).unwrap(), line);
        seen.push(type_of(&line));
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "action",
            "ban",
            "bans",
            "bye",
            "dm",
            "identity_add",
            "identity_remove",
            "invite",
            "join_room",
            "kick",
            "mute",
            "part_room",
            "rooms",
            "say",
            "topic",
            "unban",
            "unmute",
            "who"
        ]
    );

    let mut seen = Vec::new();
    for line in lines("json server-event") {
        let event: ServerEvent = serde_json::from_str(&line).unwrap();
        assert_ne!(event, ServerEvent::Unknown, "{line}");
        assert_eq!(String::from_utf8(event.to_bytes()).unwrap(), line);
        seen.push(type_of(&line));
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "bans",
            "bye",
            "dm",
            "error",
            "identities",
            "join",
            "leave",
            "message",
            "moderation",
            "notice",
            "presence",
            "reject",
            "room_joined",
            "room_parted",
            "rooms",
            "topic",
            "users",
            "welcome"
        ]
    );
}

fn code_name<T: serde::Serialize>(code: T) -> String {
    serde_json::to_value(code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// Every machine-readable code has a row in the document's tables. The
/// matches are exhaustive on purpose: a new code does not compile here
/// until it is listed (and documented).
#[test]
fn every_code_is_documented() {
    let doc = doc();
    let row = |name: String| {
        assert!(doc.contains(&format!("| `{name}` |")), "no row for {name}");
    };
    for code in [
        RejectCode::ServerFull,
        RejectCode::BadPassword,
        RejectCode::NameInvalid,
        RejectCode::NameTaken,
        RejectCode::BadRequest,
        RejectCode::Busy,
        RejectCode::Throttled,
        RejectCode::NameRegistered,
        RejectCode::BadIdentity,
        RejectCode::Banned,
    ] {
        match code {
            RejectCode::ServerFull
            | RejectCode::BadPassword
            | RejectCode::NameInvalid
            | RejectCode::NameTaken
            | RejectCode::BadRequest
            | RejectCode::Busy
            | RejectCode::Throttled
            | RejectCode::NameRegistered
            | RejectCode::BadIdentity
            | RejectCode::Banned
            | RejectCode::Other => row(code_name(code)),
        }
    }
    for code in [
        ErrorCode::TextTooLong,
        ErrorCode::TextInvalid,
        ErrorCode::RateLimited,
        ErrorCode::NoSuchUser,
        ErrorCode::BadEvent,
        ErrorCode::NotOwner,
        ErrorCode::TooManyKeys,
        ErrorCode::LastKey,
        ErrorCode::NamesOpen,
        ErrorCode::NotOperator,
        ErrorCode::Forbidden,
        ErrorCode::Muted,
        ErrorCode::NotBanned,
        ErrorCode::NotMuted,
        ErrorCode::RoomInvalid,
        ErrorCode::NoSuchRoom,
        ErrorCode::NotInRoom,
        ErrorCode::TooManyRooms,
        ErrorCode::CannotPart,
    ] {
        match code {
            ErrorCode::TextTooLong
            | ErrorCode::TextInvalid
            | ErrorCode::RateLimited
            | ErrorCode::NoSuchUser
            | ErrorCode::BadEvent
            | ErrorCode::NotOwner
            | ErrorCode::TooManyKeys
            | ErrorCode::LastKey
            | ErrorCode::NamesOpen
            | ErrorCode::NotOperator
            | ErrorCode::Forbidden
            | ErrorCode::Muted
            | ErrorCode::NotBanned
            | ErrorCode::NotMuted
            | ErrorCode::RoomInvalid
            | ErrorCode::NoSuchRoom
            | ErrorCode::NotInRoom
            | ErrorCode::TooManyRooms
            | ErrorCode::CannotPart
            | ErrorCode::Other => row(code_name(code)),
        }
    }
    for action in [
        ModerationAction::Kick,
        ModerationAction::Ban,
        ModerationAction::Unban,
        ModerationAction::Mute,
        ModerationAction::Unmute,
        ModerationAction::Op,
        ModerationAction::Deop,
        ModerationAction::Invite,
    ] {
        match action {
            ModerationAction::Kick
            | ModerationAction::Ban
            | ModerationAction::Unban
            | ModerationAction::Mute
            | ModerationAction::Unmute
            | ModerationAction::Op
            | ModerationAction::Deop
            | ModerationAction::Invite
            | ModerationAction::Other => row(code_name(action)),
        }
    }
    for code in [
        ByeCode::Leave,
        ByeCode::Shutdown,
        ByeCode::Kicked,
        ByeCode::TooSlow,
        ByeCode::Timeout,
        ByeCode::KeyRotated,
        ByeCode::Protocol,
        ByeCode::NameRegistered,
        ByeCode::Banned,
    ] {
        match code {
            ByeCode::Leave
            | ByeCode::Shutdown
            | ByeCode::Kicked
            | ByeCode::TooSlow
            | ByeCode::Timeout
            | ByeCode::KeyRotated
            | ByeCode::Protocol
            | ByeCode::NameRegistered
            | ByeCode::Banned
            | ByeCode::Other => row(code_name(code)),
        }
    }
}

/// The numbers the document states are the crate's.
#[test]
fn constants_match_the_document() {
    use chat_protocol::close;
    let doc = doc();
    for code in [
        close::NORMAL,
        close::GOING_AWAY,
        close::PROTOCOL,
        close::POLICY,
        close::TOO_BIG,
        close::UNKNOWN_KEY,
    ] {
        assert!(
            doc.contains(&format!("| {code} |")),
            "no row for close {code}"
        );
    }
    assert!(doc.contains(&format!("Subprotocol `{}`", chat_protocol::SUBPROTOCOL)));
    assert!(doc.contains(&format!("**{}**", chat_protocol::DEFAULT_PORT)));
    assert!(doc.contains(&format!("Hello (client → server), {HELLO_LEN} bytes")));
    assert!(doc.contains(&format!(
        "Challenge (server → client), {CHALLENGE_LEN} bytes"
    )));
    assert!(doc.contains(&format!("≤ {MAX_AUTH} (2 KiB)")));
    assert!(doc.contains(&format!("≤ 2 × `max_text` + {CLIENT_OVERHEAD} (")));
    let default_text = chat_protocol::sizes::DEFAULT_MAX_TEXT;
    for max_text in [1, 100, default_text, 65536] {
        assert_eq!(
            max_client_message(max_text),
            2 * max_text + CLIENT_OVERHEAD,
            "the client message limit changed: update §7 of docs/protocol.md (and DESIGN.md)"
        );
    }
    let default_limit = max_client_message(default_text);
    assert!(doc.contains(&format!("({default_limit} with the default `max_text`)")));
    assert_eq!(MAX_SERVER_MESSAGE, 1_048_576);
    assert!(doc.contains("≤ 1 048 576 (1 MiB)"));
    assert!(doc.contains(&format!("({default_text} bytes")));
}
