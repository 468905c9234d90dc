//! UTF-8 and control characters in texts: an event that is not UTF-8 is
//! unreadable (`bad_event`); C0 and C1 controls and DEL are refused
//! (`text_invalid`); format characters (bidi overrides, zero-width) are
//! not controls: they are relayed as written, and every client escapes
//! them when it renders (protocol.md §11.4). The connection stays.

use chat_protocol::{ClientEvent, ErrorCode, ServerEvent};
use testkit::RawClient;

use crate::{Scene, say};

/// Sends `plain` (sealed) and returns the error code it earned, then
/// checks the session still works.
async fn refused(mallory: &mut RawClient, plain: &[u8]) -> ErrorCode {
    mallory.send_plain(plain).await;
    mallory
        .recv_until("an error", |e| match e {
            ServerEvent::Error { code, .. } => Some(*code),
            _ => None,
        })
        .await
}

/// The honest member saw mallory join and nothing of what was refused.
async fn nothing_relayed(s: &mut Scene) {
    s.unharmed_but(|e| matches!(e, ServerEvent::Join { name, .. } if name == "mallory"))
        .await;
}

#[tokio::test]
async fn invalid_utf8_in_an_event_is_a_bad_event() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    for plain in [
        &b"{\"type\":\"say\",\"text\":\"\xff\xfe\"}"[..],
        b"{\"type\":\"say\",\"text\":\"\xc0\xaf\"}", // an overlong '/'
        b"{\"type\":\"say\",\"text\":\"\xed\xa0\x80\"}", // a surrogate as UTF-8
        br#"{"type":"say","text":"\ud800"}"#,        // a lone surrogate escaped
        b"\xef\xbb\xbf{\"type\":\"say\",\"text\":\"bom\"}",
    ] {
        assert_eq!(
            refused(&mut mallory, plain).await,
            ErrorCode::BadEvent,
            "{}",
            String::from_utf8_lossy(plain)
        );
    }
    nothing_relayed(&mut s).await;
}

#[tokio::test]
async fn c0_controls_and_del_in_a_text_are_refused() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    for text in [
        "\u{1b}[2Jcleared",
        "bell\u{7}",
        "nul\0",
        "cr\roverwrite",
        "del\u{7f}",
    ] {
        let code = refused(&mut mallory, &say(text).to_bytes()).await;
        assert_eq!(code, ErrorCode::TextInvalid, "{text:?}");
    }
    nothing_relayed(&mut s).await;
}

#[tokio::test]
async fn c1_controls_in_a_text_are_refused() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    // CSI, NEL, OSC, APC as single C1 characters.
    for text in ["\u{9b}2J", "a\u{85}b", "\u{9d}0;title\u{9c}", "\u{9f}x"] {
        let code = refused(&mut mallory, &say(text).to_bytes()).await;
        assert_eq!(code, ErrorCode::TextInvalid, "{text:?}");
    }
    nothing_relayed(&mut s).await;
}

/// The text rules hold for actions and direct messages too, and a refused
/// dm reaches no one.
#[tokio::test]
async fn controls_in_actions_and_dms_are_refused() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let action = ClientEvent::Action {
        room: None,
        text: "\u{1b}]0;pwned\u{7}".into(),
        cid: None,
    };
    assert_eq!(
        refused(&mut mallory, &action.to_bytes()).await,
        ErrorCode::TextInvalid
    );
    let dm = ClientEvent::Dm {
        to: "honest".into(),
        text: "\u{1b}[1A\u{1b}[2Kforged line".into(),
        cid: None,
    };
    assert_eq!(
        refused(&mut mallory, &dm.to_bytes()).await,
        ErrorCode::TextInvalid
    );
    nothing_relayed(&mut s).await;
}

/// Bidi overrides and zero-width characters are not controls: the text is
/// relayed exactly as written (the honest client escapes it on screen),
/// and the sender is the server's, not what the text pretends.
#[tokio::test]
async fn bidi_overrides_and_zero_width_in_a_text_are_relayed_as_written() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let text = "\u{202e}txt.exe\u{202c} <honest\u{200b}> hi \u{2066}x\u{2069}";
    mallory.send(&say(text)).await;
    mallory
        .recv_until("the echo", |e| {
            matches!(e, ServerEvent::Message(_)).then_some(())
        })
        .await;
    let seen = s
        .unharmed_but(|e| match e {
            ServerEvent::Join { name, .. } => name == "mallory",
            ServerEvent::Message(m) => m.from == "mallory",
            _ => false,
        })
        .await;
    let relayed: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Message(m) => Some(m.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(relayed, [text]);
}

/// A text of only whitespace, Unicode's included, is refused.
#[tokio::test]
async fn a_text_of_only_unicode_whitespace_is_refused() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    for text in ["", " \t\n", "\u{a0}\u{3000}\u{2028}"] {
        let code = refused(&mut mallory, &say(text).to_bytes()).await;
        assert_eq!(code, ErrorCode::TextInvalid, "{text:?}");
    }
    nothing_relayed(&mut s).await;
}

/// A client id outside `A-Z a-z 0-9 _ -` (controls, bidi overrides, too
/// long) is dropped: the line is taken without it, so nothing of it
/// reaches the room.
#[tokio::test]
async fn a_client_id_with_controls_or_overrides_is_dropped() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let long = "c".repeat(33);
    for cid in ["\u{1b}[2J", "\u{202e}x", long.as_str(), "a b"] {
        let line = ClientEvent::Say {
            room: None,
            text: format!("with cid {}", cid.len()),
            cid: Some(cid.into()),
        };
        mallory.send(&line).await;
        mallory
            .recv_until("the echo", |e| {
                matches!(e, ServerEvent::Message(_)).then_some(())
            })
            .await;
    }
    let seen = s
        .unharmed_but(|e| match e {
            ServerEvent::Join { name, .. } => name == "mallory",
            ServerEvent::Message(m) => m.from == "mallory",
            _ => false,
        })
        .await;
    let cids: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Message(m) => Some(m.cid.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(cids, [None, None, None, None]);
}
