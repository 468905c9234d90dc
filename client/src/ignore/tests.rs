use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use chat_protocol::Identity;

use super::*;

fn key(seed: u8) -> IdentityKey {
    Identity::from_seed(&[seed; 32]).public()
}

#[test]
fn an_ignore_by_identity_follows_a_rename_and_outlives_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat/ignored");
    let (mut ignored, note) = Ignored::open(path.clone(), &[1; 32]);
    assert_eq!(note, None);
    let said = ignored.add("bob", Some(key(1))).unwrap();
    assert!(said.contains(&key(1).fingerprint().to_string()), "{said}");
    ignored.add("troll", None).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(ignored.add("BOB", None).unwrap_err().contains("already"));

    // Another run: bob comes back as "robert" with the same key.
    let (mut again, _) = Ignored::open(path.clone(), &[1; 32]);
    assert!(
        again.hides("robert", Some(&key(1))),
        "a rename does not escape"
    );
    assert!(again.hides("robert", Some(&key(1))));
    assert!(again.hides("TROLL", Some(&key(9))), "by name, any identity");
    assert!(!again.hides("carol", Some(&key(2))));
    assert!(!again.hides("carol", None));
    assert_eq!(again.total_hidden(), 3);
    let list = again.list().join("\n");
    assert!(
        list.contains("robert (identity"),
        "the entry took the new name: {list}"
    );
    assert!(
        list.contains("2 hidden") && list.contains("troll (by name): 1 hidden"),
        "{list}"
    );
    // The old name went with the rename, and the new one was written.
    assert!(!again.hides("bob", None));
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(" key chat-id1_") && text.contains(" robert\n"),
        "{text}"
    );

    // Another server is another list.
    let (mut elsewhere, _) = Ignored::open(path.clone(), &[2; 32]);
    assert!(!elsewhere.hides("robert", Some(&key(1))));
    elsewhere.add("dave", None).unwrap();

    let said = again.remove("Robert", Some(key(1))).unwrap();
    assert!(said.contains("2 of their messages"), "{said}");
    assert!(
        again
            .remove("robert", None)
            .unwrap_err()
            .contains("not ignored")
    );
    let (mut third, _) = Ignored::open(path.clone(), &[1; 32]);
    assert!(!third.hides("robert", Some(&key(1))));
    assert!(third.hides("troll", None));
    let (mut other_server, _) = Ignored::open(path, &[2; 32]);
    assert!(
        other_server.hides("dave", None),
        "the other server's line stays"
    );
}

#[test]
fn two_clients_do_not_undo_each_others_changes_and_bad_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ignored");
    let (mut one, _) = Ignored::open(path.clone(), &[1; 32]);
    let (mut two, _) = Ignored::open(path.clone(), &[1; 32]);
    one.add("ann", None).unwrap();
    two.add("ben", None).unwrap();
    let (mut three, _) = Ignored::open(path.clone(), &[1; 32]);
    assert!(three.hides("ann", None) && three.hides("ben", None));
    // The second one's list took in the first's addition when it wrote.
    assert!(two.hides("ann", None));

    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("{text}garbage\nx name b@d\n")).unwrap();
    let (four, note) = Ignored::open(path, &[1; 32]);
    assert!(note.unwrap().contains("2 line(s)"));
    assert_eq!(four.list().len(), 3, "a title and two names");
}

#[test]
fn the_list_is_bounded_per_server() {
    let mut ignored = Ignored::in_memory();
    for i in 0..MAX_PER_SERVER {
        ignored.add(&format!("u{i}"), None).unwrap();
    }
    let why = ignored.add("one_more", None).unwrap_err();
    assert!(why.contains("the most kept"), "{why}");
}

#[test]
fn the_line_mode_says_what_it_hid_once_a_while_has_passed() {
    let mut ignored = Ignored::in_memory();
    ignored.add("bob", None).unwrap();
    assert_eq!(ignored.report_due(), None);
    let start = Instant::now();
    assert!(ignored.hides("bob", None));
    assert!(ignored.hides("Bob", None));
    let due = ignored.report_due().unwrap();
    assert!(due >= start + REPORT_AFTER);
    assert_eq!(ignored.take_report(start, false), Vec::<String>::new());
    assert_eq!(
        ignored.take_report(due, false),
        ["2 messages from bob hidden (/unignore bob shows them)"]
    );
    assert_eq!(ignored.report_due(), None, "said: nothing left");
    assert!(ignored.hides("bob", None));
    assert_eq!(
        ignored.take_report(start, true),
        ["1 message from bob hidden (/unignore bob shows them)"],
        "at the end, what is left"
    );
    assert_eq!(ignored.total_hidden(), 3);
}
