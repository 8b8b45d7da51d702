//! Accounts, sessions and avatars, in one of two backends chosen by [`Database`]:
//!
//! - [`sqlite`]: an embedded database file (or memory), for a single server;
//! - [`redis`]: a Redis server shared by every node of a scaled-out deployment, so that an
//!   account registered through one node signs in through any other.
//!
//! Both answer the same questions the same way; the tests run every behaviour against both.

#[cfg(feature = "redis")]
mod redis;
mod sqlite;
// Every test runs against both backends, so they need the Redis one, which the tests start as
// a redis-server on a Unix socket (`test_utils::RedisServer`, Unix only).
#[cfg(all(test, feature = "redis", unix))]
mod tests;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Database;
use parley_protocol::User;

#[cfg(feature = "redis")]
use self::redis::RedisStore;
use self::sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("username is taken")]
    UsernameTaken,
    #[error("email is taken")]
    EmailTaken,
    #[error("no such user")]
    NoSuchUser,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    // `::redis` because the `redis` in scope here is the backend module.
    #[cfg(feature = "redis")]
    #[error("database error: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// A record the server did not write that way: a field missing or unreadable. Only
    /// possible in Redis, whose keys anyone with access can edit.
    #[error("malformed data in the database: {0}")]
    Malformed(String),
    #[error("database task failed: {0}")]
    Task(String),
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
    #[cfg(feature = "redis")]
    Redis(RedisStore),
}

pub struct NewUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
}

pub struct ProfileChange {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub status: Option<String>,
}

pub struct Avatar {
    pub content_type: String,
    pub data: Vec<u8>,
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Where a user's avatar is served; the version in it changes with every upload, so the URL can
/// be cached forever.
fn avatar_url(user_id: &str, version: i64) -> String {
    format!("/api/v1/users/{user_id}/avatar?v={version}")
}

/// Calls the same method on whichever backend this store uses.
macro_rules! dispatch {
    ($store:expr, $method:ident($($arg:expr),*)) => {
        match &$store.backend {
            Backend::Sqlite(db) => db.$method($($arg),*).await,
            #[cfg(feature = "redis")]
            Backend::Redis(db) => db.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (and migrates) a SQLite database, or connects to Redis.
    pub async fn open(database: &Database) -> Result<Store, StoreError> {
        let backend = match database {
            Database::InMemory => Backend::Sqlite(SqliteStore::open(None)?),
            Database::Path(path) => Backend::Sqlite(SqliteStore::open(Some(path))?),
            #[cfg(feature = "redis")]
            Database::Redis(url) => Backend::Redis(RedisStore::open(url).await?),
        };
        Ok(Store { backend })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, ping())
    }

    /// Fails with `UsernameTaken` or `EmailTaken` when either is already used,
    /// case-insensitively; `EmailTaken` when both are.
    pub async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        dispatch!(self, create_user(user))
    }

    /// The user whose username or email is `login` (case-insensitively), with the password hash.
    pub async fn find_login(&self, login: String) -> Result<Option<(User, String)>, StoreError> {
        dispatch!(self, find_login(login))
    }

    /// A session lasting `ttl`; with a zero `ttl` it is expired from the start.
    pub async fn create_session(&self, user_id: String, token_hash: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        dispatch!(self, create_session(user_id, token_hash, ttl))
    }

    /// The user owning an unexpired session.
    pub async fn session_user(&self, token_hash: Vec<u8>) -> Result<Option<User>, StoreError> {
        dispatch!(self, session_user(token_hash))
    }

    pub async fn delete_session(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        dispatch!(self, delete_session(token_hash))
    }

    /// Removes expired sessions and says how many. Redis expires them by itself: always 0 there.
    pub async fn purge_expired_sessions(&self) -> Result<usize, StoreError> {
        dispatch!(self, purge_expired_sessions())
    }

    /// Changes the fields given; `NoSuchUser` if there is no such user.
    pub async fn update_profile(&self, user_id: String, change: ProfileChange) -> Result<User, StoreError> {
        dispatch!(self, update_profile(user_id, change))
    }

    /// Replaces the avatar and bumps the user's avatar version (and so its URL).
    pub async fn set_avatar(&self, user_id: String, avatar: Avatar) -> Result<User, StoreError> {
        dispatch!(self, set_avatar(user_id, avatar))
    }

    pub async fn avatar(&self, user_id: String) -> Result<Option<Avatar>, StoreError> {
        dispatch!(self, avatar(user_id))
    }
}
