//! Trust through the front door: safety numbers both people compute, a verified contact whose
//! key changes (held until accepted), and message text that never reaches the disk in the clear.

use std::path::Path;

use parley_core::{CoreEvent, DeliveryState};
use parley_tests::hostile_server::{Attack, HostileServer};
use parley_tests::{online_pair, Person, TestServer};

/// A first message both ways settles the channel, so each side has pinned the other's key.
async fn first_exchange(alice: &mut Person, bob: &mut Person) {
    let hello = alice.send(&bob.user.clone(), "hello bob").await;
    bob.wait_for_message(&hello.id).await;
    alice.wait_for_state(&hello.id, DeliveryState::Delivered).await;
}

#[tokio::test]
async fn safety_numbers_match_and_a_verified_contacts_new_key_holds_sending_until_accepted() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    first_exchange(&mut alice, &mut bob).await;

    let at_alice = alice.parley().safety_numbers(bob.id()).await.unwrap();
    let at_bob = bob.parley().safety_numbers(alice.id()).await.unwrap();
    assert_eq!(at_alice.len(), 1, "one device of bob's met: {at_alice:?}");
    assert_eq!(at_alice[0].number, at_bob[0].number, "the same digits on both sides");
    assert_eq!(at_alice[0].number.chars().filter(char::is_ascii_digit).count(), 60);
    assert!(at_alice[0].qr_svg.starts_with("<?xml"), "a QR code");
    assert!(!at_alice[0].verified);
    assert_eq!(alice.parley().verify_contact(bob.id()).await.unwrap(), 1);

    // Bob's keyring is lost (the test keyring forgets everything at a restart): same device, a
    // new identity key.
    alice.mark();
    bob.restart().await;
    let bob_id = bob.id().to_owned();
    let verified = alice
        .wait_for("bob's changed key", |e| match e {
            CoreEvent::IdentityChanged { user_id, verified, .. } if *user_id == bob_id => Some(*verified),
            _ => None,
        })
        .await;
    assert!(verified, "the change of a verified contact's key says so");
    // The changed key was seen on an open channel, so a message would go at once if it could.
    alice
        .wait_for("the channel to bob's device", |e| match e {
            CoreEvent::Connected { user_id, .. } if *user_id == bob_id => Some(()),
            _ => None,
        })
        .await;
    let held = alice.send(&bob.user.clone(), "held until alice accepts").await;
    let changed = alice.parley().safety_numbers(bob.id()).await.unwrap();
    assert!(changed[0].changed && changed[0].verified, "{changed:?}");
    assert_ne!(changed[0].number, at_alice[0].number, "a new key, a new number");
    assert_eq!(
        changed[0].number,
        bob.parley().safety_numbers(alice.id()).await.unwrap()[0].number,
        "the new number is what bob sees"
    );
    // What the peer tests call quiet: long enough for a loopback message to arrive many times.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        alice.parley().message(&held.id).await.unwrap().state,
        DeliveryState::Pending,
        "nothing goes to a changed key before the person accepts it"
    );
    assert!(
        !bob.log()
            .iter()
            .any(|e| matches!(e, CoreEvent::Message { message } if message.id == held.id)),
        "bob got nothing"
    );

    assert_eq!(alice.parley().accept_identity(bob.id()).await.unwrap(), 1);
    bob.wait_for_message(&held.id).await;
    alice.wait_for_state(&held.id, DeliveryState::Delivered).await;
    let accepted = alice.parley().safety_numbers(bob.id()).await.unwrap();
    assert!(!accepted[0].changed && !accepted[0].verified, "{accepted:?}");
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            bytes.extend(all_bytes(&path));
        } else if let Ok(content) = std::fs::read(&path) {
            bytes.extend(content);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_canary_sent_and_received_is_in_no_byte_of_either_profile() {
    const CANARY: &str = "okapi-canary-51d2";
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let sent = alice.send(&bob.user.clone(), &format!("the {CANARY} sleeps")).await;
    bob.wait_for_message(&sent.id).await;
    alice.wait_for_state(&sent.id, DeliveryState::Delivered).await;

    for person in [&alice, &bob] {
        // The check can fail: the text is there, in the database, for whoever has the key.
        let conn =
            parley_history::History::raw_connection(&person.history_path(), Some(&person.history_key())).unwrap();
        let stored: String = conn
            .query_row("SELECT body FROM messages WHERE id = ?1", [&sent.id], |r| r.get(0))
            .unwrap();
        assert!(stored.contains(CANARY));
        assert!(
            !contains(&all_bytes(person.profile_dir()), CANARY),
            "{}: running, the profile holds the canary in the clear",
            person.name
        );
    }
    alice.quit().await;
    bob.quit().await;
    for person in [&alice, &bob] {
        let bytes = all_bytes(person.profile_dir());
        assert!(
            !contains(&bytes, CANARY),
            "{}: closed, the canary is on disk",
            person.name
        );
        assert!(
            !contains(&bytes, "SQLite format 3"),
            "{}: a plaintext database",
            person.name
        );
    }
}

/// Alice and Bob in one room on `server`, Alice writing to Bob: what each side saw once the
/// connection attempt ended, and Alice's message still pending.
async fn attacked(attack: Attack) -> (Vec<CoreEvent>, Vec<CoreEvent>, HostileServer) {
    let server = TestServer::start().await;
    let hostile = HostileServer::start(&server.url(), attack).await;
    let mut alice = Person::register_at(&hostile.url(), "alice").await;
    let mut bob = Person::register_at(&hostile.url(), "bob").await;
    alice.go_online("lobby").await;
    bob.go_online("lobby").await;
    alice.wait_for_peer(bob.id()).await;
    let secret = alice.send(&bob.user.clone(), "for bob's eyes only").await;
    let ended =
        |e: &CoreEvent| matches!(e, CoreEvent::IdentityMismatch { .. } | CoreEvent::Disconnected { .. }).then_some(());
    alice.wait_for("the attacked connection to end", ended).await;
    bob.wait_for("the attacked connection to end", ended).await;
    assert_eq!(
        alice.parley().message(&secret.id).await.unwrap().state,
        DeliveryState::Pending,
        "nothing delivered"
    );
    assert!(
        !bob.log().iter().any(|e| matches!(e, CoreEvent::Message { .. })),
        "bob received nothing"
    );
    (alice.log().to_vec(), bob.log().to_vec(), hostile)
}

#[tokio::test]
async fn a_server_rewriting_the_fingerprints_connects_no_one() {
    let (at_alice, at_bob, _hostile) = attacked(Attack::RewriteFingerprints).await;
    for (who, log) in [("alice", &at_alice), ("bob", &at_bob)] {
        assert!(
            !log.iter().any(|e| matches!(e, CoreEvent::Connected { .. })),
            "{who}: no channel opened"
        );
    }
}

#[tokio::test]
async fn a_server_in_the_middle_is_caught_on_both_sides() {
    let (at_alice, at_bob, hostile) = attacked(Attack::ManInTheMiddle).await;
    for (who, log) in [("alice", &at_alice), ("bob", &at_bob)] {
        assert!(
            log.iter().any(|e| matches!(e, CoreEvent::IdentityMismatch { .. })),
            "{who} was told the connection was intercepted"
        );
        assert!(
            !log.iter().any(|e| matches!(e, CoreEvent::Connected { .. })),
            "{who}: no channel opened"
        );
    }
    // The server in the middle read the handshake, and nothing else.
    let read = hostile.read();
    assert!(!read.is_empty(), "it did relay the channel");
    for frame in &read {
        let text = String::from_utf8_lossy(frame);
        assert!(text.contains("\"t\":\"id-"), "only handshake frames passed: {text}");
        assert!(!text.contains("for bob's eyes only"));
    }
}
