//! The Memory store always runs. The real stores need an environment set up for them and run
//! when asked (see the command lines in `round_trip`'s callers); otherwise they say why not.

use crate::secrets::{SecretError, SecretStore, StoreKind};
use crate::server_url::ServerUrl;

use crate::test_support::unique;

fn round_trip(store: &SecretStore) {
    // Unique per run: a real keyring outlives the test.
    let profile = format!("test{}{}", std::process::id(), unique("p"));
    let server = ServerUrl::parse("https://chat.example.org").unwrap();
    let other_server = ServerUrl::parse("http://127.0.0.1:7890").unwrap();

    assert_eq!(store.load_token(&profile, &server).unwrap(), None);
    store.save_token(&profile, &server, "token-one").unwrap();
    assert_eq!(
        store.load_token(&profile, &server).unwrap().as_deref(),
        Some("token-one")
    );
    // The same server spelled differently is the same entry.
    let same = ServerUrl::parse("https://chat.example.org/").unwrap();
    assert_eq!(store.load_token(&profile, &same).unwrap().as_deref(), Some("token-one"));

    store.save_token(&profile, &server, "token-two").unwrap();
    assert_eq!(
        store.load_token(&profile, &server).unwrap().as_deref(),
        Some("token-two")
    );

    // Other servers and other profiles are other entries.
    assert_eq!(store.load_token(&profile, &other_server).unwrap(), None);
    let other_profile = format!("{profile}x");
    assert_eq!(store.load_token(&other_profile, &server).unwrap(), None);
    store.save_token(&other_profile, &server, "theirs").unwrap();
    assert_eq!(
        store.load_token(&profile, &server).unwrap().as_deref(),
        Some("token-two")
    );

    store.delete_token(&profile, &server).unwrap();
    assert_eq!(store.load_token(&profile, &server).unwrap(), None);
    store.delete_token(&profile, &server).expect("deleting nothing is fine");
    assert_eq!(
        store.load_token(&other_profile, &server).unwrap().as_deref(),
        Some("theirs")
    );
    store.delete_token(&other_profile, &server).unwrap();
}

#[test]
fn memory_store_round_trip() {
    let store = SecretStore::open(StoreKind::Memory).unwrap();
    assert_eq!(store.kind(), StoreKind::Memory);
    round_trip(&store);
}

#[test]
fn memory_stores_are_private_to_their_handle() {
    let server = ServerUrl::parse("https://chat.example.org").unwrap();
    let first = SecretStore::open(StoreKind::Memory).unwrap();
    let second = SecretStore::open(StoreKind::Memory).unwrap();
    first.save_token("p1", &server, "secret").unwrap();
    assert_eq!(second.load_token("p1", &server).unwrap(), None);
    assert_eq!(
        first.clone().load_token("p1", &server).unwrap().as_deref(),
        Some("secret")
    );
}

/// Runs `test` only when `variable=1`, else prints why it was skipped.
fn gated(variable: &str, how: &str, test: impl FnOnce()) {
    if std::env::var(variable).as_deref() == Ok("1") {
        test();
    } else {
        eprintln!("SKIPPED: set {variable}=1 and run {how} to test this store for real");
    }
}

/// `dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
/// PARLEY_TEST_SECRET_SERVICE=1 exec cargo test -p parley-core --lib secret_service'`
#[test]
fn secret_service_round_trip() {
    gated(
        "PARLEY_TEST_SECRET_SERVICE",
        "under dbus-run-session with an unlocked gnome-keyring",
        || {
            let store = SecretStore::open(StoreKind::Os).unwrap_or_else(|e| panic!("{e}"));
            round_trip(&store);
        },
    );
}

/// `keyctl session - sh -c 'PARLEY_TEST_KEYUTILS=1 exec cargo test -p parley-core --lib keyutils'`
#[test]
fn keyutils_round_trip() {
    gated("PARLEY_TEST_KEYUTILS", "inside `keyctl session -`", || {
        let store = SecretStore::open(StoreKind::Keyutils).unwrap_or_else(|e| panic!("{e}"));
        round_trip(&store);
        // A fresh handle sees what an earlier one stored: the kernel holds it, not the process.
        let server = ServerUrl::parse("https://chat.example.org").unwrap();
        let profile = unique("keyutils-persist");
        store.save_token(&profile, &server, "kept").unwrap();
        let again = SecretStore::open(StoreKind::Keyutils).unwrap();
        assert_eq!(again.load_token(&profile, &server).unwrap().as_deref(), Some("kept"));
        again.delete_token(&profile, &server).unwrap();
    });
}

/// Without any D-Bus session (a headless box, CI), the default store must fail loudly and say
/// how to fix it, never quietly fall back to something else.
#[test]
fn without_a_session_bus_the_os_store_says_how_to_fix_it() {
    let session_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::fs::read_dir("/run/user").is_ok_and(|users| users.flatten().any(|u| u.path().join("bus").exists()));
    if !cfg!(target_os = "linux") || session_bus {
        eprintln!("SKIPPED: this machine has a D-Bus session, so the Secret Service may well be reachable");
        return;
    }
    match SecretStore::open(StoreKind::Os) {
        Err(error @ SecretError::Unavailable { .. }) => {
            let message = error.to_string();
            for hint in ["gnome-keyring", "PARLEY_KEYRING=keyutils", "dbus-run-session"] {
                assert!(message.contains(hint), "{hint:?} missing from: {message}");
            }
        }
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(store) => panic!("opened {store:?} without a session bus"),
    }
}
