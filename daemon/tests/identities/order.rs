//! The join checks in the order docs/protocol.md §12.3 gives them, through
//! the real chatd with a password: the password before the proof and
//! before anything that tells who is registered or online, the proof
//! before the name's form, the name's form before its registration, the
//! registration before the name taken. (Address, name and key bans are
//! moderation's, checked where §12.3 puts them.)

use chat_protocol::RejectCode;
use chat_protocol::identity::proof_to_base64;
use testkit::{Daemon, Greeted, Outcome, RawClient, connect};

use super::{auth_with, identity, refused};

/// A join of `name` with `password` that proves `who`'s key, signed by
/// `signer` (another key than `who`'s: a proof that does not verify).
async fn join_signed(
    d: &Daemon,
    name: &str,
    password: &str,
    who: &chat_protocol::Identity,
    signer: &chat_protocol::Identity,
) -> Outcome {
    let greeted = Greeted::greet(connect(&d.url).await, &d.key).await.unwrap();
    let proof = proof_to_base64(&signer.prove(&greeted.th));
    let auth = auth_with(name, password, Some(who.public().to_base64()), Some(proof));
    greeted.auth(&auth).await
}

#[tokio::test]
async fn the_join_checks_run_in_the_order_the_protocol_gives() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "right\n").unwrap();
    let d = Daemon::builder()
        .arg("--password-file")
        .arg(password_file.to_str().unwrap())
        .start();
    let (alice, mallory) = (identity(1), identity(2));
    // alice registers the name (first-come) and stays online.
    let online = RawClient::join_as(&d.url, &d.key, "alice", "right", Some(&alice))
        .await
        .joined();

    // A wrong password is all a join learns, whatever else is wrong with
    // it: another key for a registered name online, no identity, a proof
    // that does not verify with an invalid name. (Three: under the
    // five a minute that would throttle the address.)
    let wrong = [
        RawClient::join_as(&d.url, &d.key, "alice", "wrong", Some(&mallory)).await,
        RawClient::join_as(&d.url, &d.key, "ALICE", "wrong", None).await,
        join_signed(&d, "not valid!", "wrong", &alice, &mallory).await,
    ];
    for (i, outcome) in wrong.into_iter().enumerate() {
        assert_eq!(refused(outcome), RejectCode::BadPassword, "case {i}");
    }

    // With the password: a bad proof comes before the name's form...
    assert_eq!(
        refused(join_signed(&d, "not valid!", "right", &alice, &mallory).await),
        RejectCode::BadIdentity
    );
    // ...the name's form before its registration...
    assert_eq!(
        refused(RawClient::join_as(&d.url, &d.key, "al ice", "right", Some(&mallory)).await),
        RejectCode::NameInvalid
    );
    // ...the registration before the name taken (alice is online: another
    // key, or none, hears that the name is someone else's, not taken)...
    for who in [Some(&mallory), None] {
        let outcome = RawClient::join_as(&d.url, &d.key, "Alice", "right", who).await;
        assert_eq!(refused(outcome), RejectCode::NameRegistered);
    }
    // ...and her own key on a second device hears it taken.
    assert_eq!(
        refused(RawClient::join_as(&d.url, &d.key, "alice", "right", Some(&alice)).await),
        RejectCode::NameTaken
    );
    // No refused join registered anything, nor ended alice's session.
    assert_eq!(d.name_keys("alice"), Some(vec![alice.public().to_string()]));
    let names = d.chatctl_json(&["names"]);
    assert_eq!(names["names"].as_array().unwrap().len(), 1, "{names}");
    online.leave().await;
}
