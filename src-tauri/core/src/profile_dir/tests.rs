use crate::profile_dir::{ProfileDir, ProfileDirError};
use crate::server_url::ServerUrl;

#[test]
fn a_profile_keeps_its_id_and_what_it_remembers() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("nested").join("alice");
    let id = {
        let mut profile = ProfileDir::open(&dir).unwrap();
        assert!(dir.join("profile.json").exists());
        assert_eq!(profile.remembered().server_url, None);
        profile
            .remember(|r| {
                r.server_url = Some(ServerUrl::parse("chat.example.org").unwrap());
                r.username = Some("alice".to_owned());
                r.rooms.push("tea #1".to_owned());
            })
            .unwrap();
        profile.id().to_owned()
    };
    assert_eq!(id.len(), 32);
    let profile = ProfileDir::open(&dir).unwrap();
    assert_eq!(profile.id(), id, "the id is stable");
    let remembered = profile.remembered();
    assert_eq!(
        remembered.server_url.as_ref().unwrap().as_str(),
        "https://chat.example.org"
    );
    assert_eq!(remembered.username.as_deref(), Some("alice"));
    assert_eq!(remembered.rooms, ["tea #1"]);
    let text = std::fs::read_to_string(dir.join("profile.json")).unwrap();
    assert!(!text.contains("token"), "no secrets in profile.json: {text}");
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
    let first = ProfileDir::open(root.path().join("a")).unwrap();
    match ProfileDir::open(root.path().join("a")) {
        Err(error @ ProfileDirError::InUse { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&first.dir().display().to_string()), "{message}");
            assert!(message.contains(&std::process::id().to_string()), "{message}");
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    // The same directory by another spelling is still the same profile.
    let dotted = root.path().join("a").join(".");
    assert!(matches!(ProfileDir::open(dotted), Err(ProfileDirError::InUse { .. })));

    let second = ProfileDir::open(root.path().join("b")).unwrap();
    assert_ne!(first.id(), second.id());

    drop(first);
    let reopened = ProfileDir::open(root.path().join("a")).expect("free again once closed");
    assert_eq!(reopened.dir(), root.path().join("a"));
}

#[test]
fn a_damaged_profile_file_is_reported_not_replaced() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("profile.json"), "{ not json").unwrap();
    match ProfileDir::open(&dir) {
        Err(error @ ProfileDirError::Corrupt { .. }) => assert!(error.to_string().contains("profile.json"), "{error}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(dir.join("profile.json")).unwrap(), "{ not json");
}

#[test]
fn keys_from_another_version_survive_an_update() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("profile.json"),
        r#"{"version":1,"id":"0123456789abcdef0123456789abcdef","theme":"dark","username":"bob"}"#,
    )
    .unwrap();
    let mut profile = ProfileDir::open(&dir).unwrap();
    assert_eq!(profile.id(), "0123456789abcdef0123456789abcdef");
    profile.remember(|r| r.username = Some("robert".to_owned())).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("profile.json")).unwrap()).unwrap();
    assert_eq!(saved["theme"], "dark");
    assert_eq!(saved["username"], "robert");
}
