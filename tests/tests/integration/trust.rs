//! Trust through the front door: safety numbers both people compute, a verified contact whose
//! key changes (held until accepted), and message text that never reaches the disk in the clear.

use std::path::Path;

use parley_core::{CoreEvent, DeliveryState};
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
