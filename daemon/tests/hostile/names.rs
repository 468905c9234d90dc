//! Names: only 1–32 of `A-Z a-z 0-9 _ . -`, unique ASCII
//! case-insensitively. Anything else is `name_invalid` (or `bad_request`
//! for an Auth that is not valid UTF-8 JSON); no join is announced.

use chat_protocol::{RejectCode, ServerEvent};
use testkit::RawClient;

use crate::{Scene, rejected};

async fn invalid(s: &Scene, name: &str) {
    let outcome = RawClient::join(&s.d.url, &s.d.key, name, "").await;
    rejected(outcome, RejectCode::NameInvalid);
}

#[tokio::test]
async fn control_characters_in_a_name_are_invalid() {
    let mut s = Scene::start("").await;
    for name in ["ace\u{1b}[31m", "ace\n", "\u{85}ace", "ace\u{7f}", "a\0"] {
        invalid(&s, name).await;
    }
    s.unharmed().await;
}

#[tokio::test]
async fn bidi_overrides_in_a_name_are_invalid() {
    let mut s = Scene::start("").await;
    for name in ["\u{202e}tsenoh", "hon\u{2066}est", "honest\u{200f}"] {
        invalid(&s, name).await;
    }
    s.unharmed().await;
}

/// Zero-width characters would make a second "honest" that looks the same.
#[tokio::test]
async fn zero_width_characters_in_a_name_are_invalid() {
    let mut s = Scene::start("").await;
    for name in [
        "hon\u{200b}est",
        "honest\u{200d}",
        "\u{feff}honest",
        "hon\u{ad}est",
    ] {
        invalid(&s, name).await;
    }
    s.unharmed().await;
}

/// Look-alike letters from other scripts are not in the alphabet.
#[tokio::test]
async fn homoglyphs_in_a_name_are_invalid() {
    let mut s = Scene::start("").await;
    // Cyrillic о and е, fullwidth Ｈ.
    for name in ["h\u{43e}nest", "hon\u{435}st", "\u{ff28}onest"] {
        invalid(&s, name).await;
    }
    s.unharmed().await;
}

#[tokio::test]
async fn an_over_long_or_empty_name_is_invalid() {
    let mut s = Scene::start("").await;
    invalid(&s, &"a".repeat(33)).await;
    invalid(&s, &"a".repeat(1000)).await;
    invalid(&s, "").await;
    // 32 is the limit, and joins.
    let _longest = RawClient::join(&s.d.url, &s.d.key, &"a".repeat(32), "")
        .await
        .joined();
    s.unharmed_but(|e| matches!(e, ServerEvent::Join { name, .. } if name.len() == 32))
        .await;
}

/// The honest member's name in another case is taken.
#[tokio::test]
async fn a_name_differing_only_in_case_is_taken() {
    let mut s = Scene::start("").await;
    for name in ["HONEST", "Honest", "honesT"] {
        let outcome = RawClient::join(&s.d.url, &s.d.key, name, "").await;
        rejected(outcome, RejectCode::NameTaken);
    }
    s.unharmed().await;
}

/// An Auth whose name is not valid UTF-8 is unreadable: `bad_request`.
#[tokio::test]
async fn a_name_that_is_not_utf8_is_a_bad_request() {
    let mut s = Scene::start("").await;
    let auth = b"{\"type\":\"auth\",\"username\":\"hon\xffest\",\"password\":\"\"}";
    let outcome = RawClient::join_with_auth(s.ws().await, &s.d.key, auth).await;
    rejected(outcome, RejectCode::BadRequest);
    s.unharmed().await;
}
