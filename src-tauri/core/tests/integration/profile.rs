use parley_core::account::ServerUrl;
use parley_core::profile::{Profile, ProfileError};
use parley_protocol::IceServer;

#[test]
fn a_profile_keeps_its_id_and_settings() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("nested").join("alice");
    let id = {
        let mut profile = Profile::open(&dir).unwrap();
        assert!(dir.join("profile.json").exists());
        assert_eq!(profile.settings().server_url, None);
        profile
            .update_settings(|s| {
                s.server_url = Some(ServerUrl::parse("chat.example.org").unwrap());
                s.username = Some("alice".to_owned());
                s.ice_servers.push(IceServer {
                    urls: vec!["turn:turn.example.org".to_owned()],
                    username: Some("u".to_owned()),
                    credential: Some("c".to_owned()),
                });
            })
            .unwrap();
        profile.id().to_owned()
    };
    assert_eq!(id.len(), 32);
    let profile = Profile::open(&dir).unwrap();
    assert_eq!(profile.id(), id, "the id is stable");
    let settings = profile.settings();
    assert_eq!(
        settings.server_url.as_ref().unwrap().as_str(),
        "https://chat.example.org"
    );
    assert_eq!(settings.username.as_deref(), Some("alice"));
    assert_eq!(settings.ice_servers[0].credential.as_deref(), Some("c"));
    let text = std::fs::read_to_string(dir.join("profile.json")).unwrap();
    assert!(!text.contains("token"), "no secrets in the settings file: {text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "profile directory is private: {mode:o}");
    }
}

#[test]
fn one_profile_cannot_be_opened_twice_but_two_profiles_run_side_by_side() {
    let root = tempfile::tempdir().unwrap();
    let first = Profile::open(root.path().join("a")).unwrap();
    match Profile::open(root.path().join("a")) {
        Err(error @ ProfileError::InUse { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&first.dir().display().to_string()), "{message}");
            assert!(message.contains(&std::process::id().to_string()), "{message}");
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    // The same directory by another spelling is still the same profile.
    let dotted = root.path().join("a").join(".");
    assert!(matches!(Profile::open(dotted), Err(ProfileError::InUse { .. })));

    let second = Profile::open(root.path().join("b")).unwrap();
    assert_ne!(first.id(), second.id());

    drop(first);
    let reopened = Profile::open(root.path().join("a")).expect("free again once closed");
    assert_eq!(reopened.dir(), root.path().join("a"));
}

#[test]
fn a_damaged_settings_file_is_reported_not_replaced() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("profile.json"), "{ not json").unwrap();
    match Profile::open(&dir) {
        Err(error @ ProfileError::Corrupt { .. }) => assert!(error.to_string().contains("profile.json"), "{error}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(dir.join("profile.json")).unwrap(), "{ not json");
}

#[test]
fn settings_from_a_newer_version_survive_an_update() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("profile.json"),
        r#"{"version":1,"id":"0123456789abcdef0123456789abcdef","theme":"dark","username":"bob"}"#,
    )
    .unwrap();
    let mut profile = Profile::open(&dir).unwrap();
    assert_eq!(profile.id(), "0123456789abcdef0123456789abcdef");
    profile
        .update_settings(|s| s.username = Some("robert".to_owned()))
        .unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("profile.json")).unwrap()).unwrap();
    assert_eq!(saved["theme"], "dark");
    assert_eq!(saved["username"], "robert");
}
