//! What only the Redis backend has: other stores on the same server, and keys changed behind
//! the store's back.

use std::time::Duration;

use super::{avatar, new_user, TestDb};
use crate::config::Database;
use crate::store::{Store, StoreError};
use parley_protocol::User;

#[tokio::test]
async fn stores_on_one_server_share_everything() {
    let db = TestDb::redis().await;
    let other = Store::open(&Database::Redis(db.redis_url())).await.unwrap();
    let user = db.create_user(new_user("mallory", "m@example.org")).await.unwrap();
    db.create_session(user.id.clone(), vec![5], Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(other.session_user(vec![5]).await.unwrap(), Some(user.clone()));
    assert_eq!(other.find_login("MALLORY".into()).await.unwrap().unwrap().0, user);
    assert!(matches!(
        other.create_user(new_user("Mallory", "n@example.org")).await,
        Err(StoreError::UsernameTaken)
    ));
    other.delete_session(vec![5]).await.unwrap();
    assert!(db.session_user(vec![5]).await.unwrap().is_none());
    other.ping().await.unwrap();

    let keys: Vec<String> = db.raw("KEYS", "*").await;
    assert!(!keys.is_empty());
    for key in keys {
        assert!(key.starts_with("parley:"), "{key} is outside the parley: prefix");
    }
}

#[tokio::test]
async fn the_session_of_a_vanished_user_is_no_session() {
    let db = TestDb::redis().await;
    let user = db.create_user(new_user("niaj", "niaj@example.org")).await.unwrap();
    db.create_session(user.id.clone(), vec![6], Duration::from_secs(60))
        .await
        .unwrap();
    let () = db.raw("DEL", format!("parley:user:{}", user.id)).await;
    assert!(db.session_user(vec![6]).await.unwrap().is_none());
    assert!(db.find_login("niaj".into()).await.unwrap().is_none());
}

/// Asserts `result` is a malformed-data error whose message contains `needle`.
#[track_caller]
fn assert_malformed<T: std::fmt::Debug>(result: Result<T, StoreError>, needle: &str) {
    match result {
        Err(error @ StoreError::Malformed(_)) => {
            let message = error.to_string();
            assert!(message.contains(needle), "{message:?} does not mention {needle:?}");
            assert!(
                message.starts_with("malformed data in the database: parley:"),
                "{message:?} does not name the key"
            );
        }
        other => panic!("expected a malformed-data error naming {needle}, got {other:?}"),
    }
}

fn login_user(found: Option<(User, String)>) -> Option<User> {
    found.map(|(user, _)| user)
}

#[tokio::test]
async fn malformed_records_are_errors_not_panics() {
    let db = TestDb::redis().await;
    let user = "parley:user:u1";
    let () = db
        .raw(
            "HSET",
            &[
                user,
                "username",
                "olivia",
                "email",
                "o@example.org",
                "display_name",
                "Olivia",
            ],
        )
        .await;
    let () = db.raw("HSET", &[user, "bio", "", "status", ""]).await;
    let () = db.raw("SET", &["parley:session:01", "u1"]).await;
    let () = db.raw("SET", &["parley:username:olivia", "u1"]).await;
    assert_malformed(db.session_user(vec![1]).await, "field `created_at` is missing");
    assert_malformed(db.find_login("olivia".into()).await.map(login_user), "created_at");

    // A session needs no password hash; a login does.
    let () = db.raw("HSET", &[user, "created_at", "1700000000"]).await;
    assert_eq!(db.session_user(vec![1]).await.unwrap().unwrap().username, "olivia");
    assert_malformed(db.find_login("olivia".into()).await.map(login_user), "password_hash");

    let () = db.raw("HSET", &[user, "avatar_version", "two"]).await;
    assert_malformed(db.session_user(vec![1]).await, "`avatar_version` is not an integer");
    let () = db.raw("HDEL", &[user, "avatar_version"]).await;
    let () = db.raw("HSET", (user, "bio", &b"\xff\xfe"[..])).await;
    assert_malformed(db.session_user(vec![1]).await, "`bio` is not UTF-8");

    // A version that is no number cannot be bumped, and the avatar stays as it was with it.
    let () = db.raw("HSET", &[user, "bio", "", "avatar_version", "x"]).await;
    assert!(matches!(
        db.set_avatar("u1".into(), avatar(b"new")).await,
        Err(StoreError::Redis(_))
    ));
    assert!(
        db.avatar("u1".into()).await.unwrap().is_none(),
        "half an avatar change was kept"
    );

    let () = db.raw("HSET", &["parley:avatar:u2", "content_type", "image/png"]).await;
    assert_malformed(
        db.avatar("u2".into()).await.map(|a| a.map(|a| a.content_type)),
        "`data` is missing",
    );

    // A key of the wrong type is Redis's own error.
    let () = db.raw("SET", &["parley:user:u3", "not a hash"]).await;
    let () = db.raw("SET", &["parley:session:03", "u3"]).await;
    assert!(matches!(db.session_user(vec![3]).await, Err(StoreError::Redis(_))));
}
