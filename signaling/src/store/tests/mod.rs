//! Every behaviour once per backend (`sqlite::…` and `redis::…`), then what only one of them
//! has: SQLite's migrations here, Redis's sharing and damaged records in `redis_only`.

mod redis_only;

use std::time::Duration;

use ::redis::{cmd, FromRedisValue, ToRedisArgs};

use super::*;
use crate::test_utils::RedisServer;

/// A fresh, empty store, and the Redis server behind it (if any), which lives as long as it.
struct TestDb {
    store: Store,
    redis: Option<RedisServer>,
}

impl TestDb {
    async fn sqlite() -> TestDb {
        TestDb {
            store: Store::open(&Database::InMemory).await.expect("in-memory SQLite opens"),
            redis: None,
        }
    }

    async fn redis() -> TestDb {
        let server = RedisServer::start();
        TestDb {
            store: Store::open(&Database::Redis(server.url()))
                .await
                .expect("Redis store connects"),
            redis: Some(server),
        }
    }

    fn is_redis(&self) -> bool {
        self.redis.is_some()
    }

    fn redis_url(&self) -> String {
        self.redis.as_ref().expect("a Redis test").url()
    }

    /// Runs one command on this test's Redis behind the store's back, to look at or spoil what
    /// the store wrote.
    async fn raw<T: FromRedisValue>(&self, command: &str, args: impl ToRedisArgs) -> T {
        let mut conn = ::redis::Client::open(self.redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        cmd(command)
            .arg(args)
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"))
    }
}

impl std::ops::Deref for TestDb {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// `#[tokio::test]`s named `sqlite::NAME` and `redis::NAME` running `NAME(&TestDb)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(&super::TestDb::sqlite().await).await;
            })*
        }
        mod redis {
            $(#[tokio::test]
            async fn $name() {
                super::$name(&super::TestDb::redis().await).await;
            })*
        }
    };
}

on_both_backends!(
    uniqueness_is_case_insensitive,
    sessions_expire_and_die_on_delete,
    sessions_last_their_ttl,
    sessions_need_a_user,
    find_login_by_username_or_email,
    a_taken_username_claims_no_email,
    profile_updates_change_only_what_is_given,
    profile_update_of_a_missing_user,
    avatars_round_trip_and_bump_the_version,
);

fn new_user(name: &str, email: &str) -> NewUser {
    NewUser {
        id: crate::auth::random_id(16),
        username: name.into(),
        email: email.into(),
        password_hash: format!("hash of {name}"),
        display_name: name.into(),
    }
}

fn avatar(bytes: &[u8]) -> Avatar {
    Avatar {
        content_type: "image/png".into(),
        data: bytes.to_vec(),
    }
}

async fn uniqueness_is_case_insensitive(db: &TestDb) {
    db.create_user(new_user("Alice", "alice@example.org")).await.unwrap();
    assert!(matches!(
        db.create_user(new_user("alice", "other@example.org")).await,
        Err(StoreError::UsernameTaken)
    ));
    assert!(matches!(
        db.create_user(new_user("bob", "ALICE@example.org")).await,
        Err(StoreError::EmailTaken)
    ));
    // Both taken: the email is reported, which is SQLite's order and so the API's.
    assert!(matches!(
        db.create_user(new_user("ALICE", "Alice@Example.org")).await,
        Err(StoreError::EmailTaken)
    ));
    let (user, _) = db.find_login("ALICE@EXAMPLE.ORG".into()).await.unwrap().unwrap();
    assert_eq!(user.username, "Alice");
}

async fn sessions_expire_and_die_on_delete(db: &TestDb) {
    let user = db.create_user(new_user("carol", "c@example.org")).await.unwrap();
    db.create_session(user.id.clone(), vec![1], Duration::from_secs(3600))
        .await
        .unwrap();
    db.create_session(user.id.clone(), vec![2], Duration::ZERO)
        .await
        .unwrap();
    db.create_session(user.id.clone(), vec![3], Duration::from_micros(500))
        .await
        .unwrap();
    assert_eq!(db.session_user(vec![1]).await.unwrap().unwrap().id, user.id);
    assert!(
        db.session_user(vec![2]).await.unwrap().is_none(),
        "expired session accepted"
    );
    assert!(
        db.session_user(vec![3]).await.unwrap().is_none(),
        "sub-millisecond session accepted"
    );
    // SQLite keeps expired rows until purged; Redis drops expired keys by itself.
    let expired_rows = if db.is_redis() { 0 } else { 2 };
    assert_eq!(db.purge_expired_sessions().await.unwrap(), expired_rows);
    assert!(
        db.session_user(vec![1]).await.unwrap().is_some(),
        "purge took a live session"
    );
    db.delete_session(vec![1]).await.unwrap();
    assert!(db.session_user(vec![1]).await.unwrap().is_none());
    db.delete_session(vec![1]).await.unwrap();
}

async fn sessions_last_their_ttl(db: &TestDb) {
    // Two seconds, not one: SQLite counts whole seconds, so a one-second session can be over
    // the instant the clock turns a second.
    let user = db.create_user(new_user("erin", "e@example.org")).await.unwrap();
    db.create_session(user.id.clone(), vec![7], Duration::from_secs(2))
        .await
        .unwrap();
    assert!(db.session_user(vec![7]).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(
        db.session_user(vec![7]).await.unwrap().is_none(),
        "session outlived its TTL"
    );
}

async fn sessions_need_a_user(db: &TestDb) {
    let missing = crate::auth::random_id(16);
    assert!(db
        .create_session(missing, vec![9], Duration::from_secs(60))
        .await
        .is_err());
    assert!(db.session_user(vec![9]).await.unwrap().is_none());
}

async fn find_login_by_username_or_email(db: &TestDb) {
    let created = db.create_user(new_user("Frank.W", "Frank@Example.org")).await.unwrap();
    db.create_user(new_user("grace", "grace@example.org")).await.unwrap();
    for login in [
        "Frank.W",
        "frank.w",
        "FRANK.W",
        "frank@example.org",
        "FRANK@EXAMPLE.ORG",
    ] {
        let (user, hash) = db
            .find_login(login.into())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{login} found no one"));
        assert_eq!(user, created, "{login} found someone else");
        assert_eq!(hash, "hash of Frank.W");
    }
    for login in ["frank", "example.org", "Frank.W@example.org", ""] {
        assert!(db.find_login(login.into()).await.unwrap().is_none(), "{login} matched");
    }
    // The same user object on every path: registration, login and session.
    assert_eq!(created.email.as_deref(), Some("Frank@Example.org"));
    assert_eq!(created.avatar_url, None);
    assert_eq!((created.bio.as_str(), created.status.as_str()), ("", ""));
    assert!((now() - created.created_at).abs() < 5);
    db.create_session(created.id.clone(), vec![4], Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(db.session_user(vec![4]).await.unwrap(), Some(created));
}

async fn a_taken_username_claims_no_email(db: &TestDb) {
    db.create_user(new_user("heidi", "heidi@example.org")).await.unwrap();
    assert!(matches!(
        db.create_user(new_user("Heidi", "ivan@example.org")).await,
        Err(StoreError::UsernameTaken)
    ));
    assert!(db.find_login("ivan@example.org".into()).await.unwrap().is_none());
    let ivan = db.create_user(new_user("ivan", "ivan@example.org")).await;
    assert_eq!(
        ivan.unwrap().username,
        "ivan",
        "the refused registration kept the email"
    );
    assert!(matches!(
        db.create_user(new_user("judy", "IVAN@example.org")).await,
        Err(StoreError::EmailTaken)
    ));
    assert!(db.find_login("judy".into()).await.unwrap().is_none());
    db.create_user(new_user("judy", "judy@example.org")).await.unwrap();
}

async fn profile_updates_change_only_what_is_given(db: &TestDb) {
    let user = db.create_user(new_user("kim", "k@example.org")).await.unwrap();
    let changed = db
        .update_profile(
            user.id.clone(),
            ProfileChange {
                display_name: None,
                bio: Some("hello\nthere".into()),
                status: Some("away".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.bio.as_str(), changed.status.as_str()),
        ("hello\nthere", "away")
    );
    assert_eq!(changed.display_name, "kim");
    let renamed = db
        .update_profile(
            user.id.clone(),
            ProfileChange {
                display_name: Some("Kim K".into()),
                bio: None,
                status: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "Kim K");
    assert_eq!(renamed.bio, "hello\nthere");
    let (found, _) = db.find_login("kim".into()).await.unwrap().unwrap();
    assert_eq!(found, renamed);
}

async fn profile_update_of_a_missing_user(db: &TestDb) {
    let missing = crate::auth::random_id(16);
    let change = ProfileChange {
        display_name: Some("ghost".into()),
        bio: None,
        status: None,
    };
    assert!(matches!(
        db.update_profile(missing.clone(), change).await,
        Err(StoreError::NoSuchUser)
    ));
    if db.is_redis() {
        let exists: bool = db.raw("EXISTS", format!("parley:user:{missing}")).await;
        assert!(!exists, "the failed update left a partial user behind");
    }
}

async fn avatars_round_trip_and_bump_the_version(db: &TestDb) {
    let user = db.create_user(new_user("leo", "l@example.org")).await.unwrap();
    assert!(db.avatar(user.id.clone()).await.unwrap().is_none());
    // Every byte value, so a backend that treats the image as text would show it.
    let first: Vec<u8> = (0..=255).collect();
    let with_first = db.set_avatar(user.id.clone(), avatar(&first)).await.unwrap();
    assert_eq!(
        with_first.avatar_url.as_deref(),
        Some(format!("/api/v1/users/{}/avatar?v=1", user.id).as_str())
    );
    let stored = db.avatar(user.id.clone()).await.unwrap().unwrap();
    assert_eq!((stored.content_type.as_str(), stored.data), ("image/png", first));

    let with_second = db
        .set_avatar(
            user.id.clone(),
            Avatar {
                content_type: "image/jpeg".into(),
                data: b"\xff\xd8\0second".to_vec(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        with_second.avatar_url.as_deref(),
        Some(format!("/api/v1/users/{}/avatar?v=2", user.id).as_str())
    );
    let stored = db.avatar(user.id.clone()).await.unwrap().unwrap();
    assert_eq!(
        (stored.content_type.as_str(), stored.data),
        ("image/jpeg", b"\xff\xd8\0second".to_vec())
    );
    let (found, _) = db.find_login("leo".into()).await.unwrap().unwrap();
    assert_eq!(found, with_second, "login shows the new avatar");

    let missing = crate::auth::random_id(16);
    assert!(db.set_avatar(missing.clone(), avatar(b"x")).await.is_err());
    assert!(db.avatar(missing).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_migrations_run_once_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Path(dir.path().join("sub/s.db"));
    let store = Store::open(&db).await.unwrap();
    store.create_user(new_user("dave", "d@example.org")).await.unwrap();
    drop(store);
    let store = Store::open(&db).await.unwrap();
    assert!(store.find_login("dave".into()).await.unwrap().is_some());
}
