//! The Redis backend: accounts, sessions and avatars shared by every node of a scaled-out
//! deployment, so a user registered through one node signs in through any other.
//!
//! Data model. Every key starts with `parley:`, so the database can hold other things too.
//!
//! | key | type | value |
//! |---|---|---|
//! | `parley:user:{id}` | hash | `username`, `email`, `password_hash`, `display_name`, `bio`, `status`, `avatar_version` (absent until the first avatar), `created_at`, `updated_at` (Unix seconds) |
//! | `parley:username:{lower-cased username}` | string | the user's id |
//! | `parley:email:{lower-cased email}` | string | the user's id |
//! | `parley:session:{hex of the token's SHA-256}` | string | the user's id; the key expires with the session |
//! | `parley:avatar:{id}` | hash | `content_type`, `data` (the image bytes) |
//!
//! Usernames and emails have a keyspace each, as they have a unique column each in SQLite:
//! validation keeps `@` out of usernames, so one keyspace would do today, but then a store
//! caller that skipped validation could claim someone's email as a username.
//!
//! Every write touching more than one key, or depending on a key existing, is one Lua script:
//! Redis runs a script with nothing interleaved, which is what a transaction gives SQLite. The
//! keys of one script fall in different hash slots, so this needs a single Redis (replicas are
//! fine), not Redis Cluster.
//!
//! Redis holds only what the server wrote, as far as the server knows; anything else read back
//! (a field missing, a number that is not one) is [`StoreError::Malformed`], never a panic.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{cmd, Client, FromRedisValue, RedisError, Script, Value};

use super::{avatar_url, now, Avatar, NewUser, ProfileChange, StoreError};
use parley_protocol::User;

/// Redis refuses an expiry beyond the largest millisecond timestamp; a thousand years is far
/// short of that and far beyond any session.
const MAX_TTL_MS: u64 = 1000 * 365 * 24 * 3600 * 1000;

/// Claims the username and email and writes the user, or writes nothing and names what was
/// taken. With both taken it names the email, as SQLite does: SQLite checks the unique index
/// created last first, and registering answers `email_taken` there.
static CREATE_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"-- KEYS: user, username, email. ARGV: id, username, email, password_hash, display_name, now.
        if redis.call('EXISTS', KEYS[3]) == 1 then return 'email' end
        if redis.call('EXISTS', KEYS[2]) == 1 then return 'username' end
        if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
        redis.call('SET', KEYS[2], ARGV[1])
        redis.call('SET', KEYS[3], ARGV[1])
        redis.call('HSET', KEYS[1], 'username', ARGV[2], 'email', ARGV[3], 'password_hash', ARGV[4],
            'display_name', ARGV[5], 'bio', '', 'status', '', 'created_at', ARGV[6], 'updated_at', ARGV[6])
        return redis.call('HGETALL', KEYS[1])",
    )
});

/// A session only for a user that exists, as SQLite's foreign key has it.
static CREATE_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"-- KEYS: user, session. ARGV: user id, lifetime in milliseconds.
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
        return 1",
    )
});

/// HSET alone would create a user hash holding only the changed fields.
static UPDATE_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"-- KEYS: user. ARGV: field, value, field, value, ...
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        redis.call('HSET', KEYS[1], unpack(ARGV))
        return redis.call('HGETALL', KEYS[1])",
    )
});

/// The avatar and the version in its URL change together, or a client could cache the old
/// image under the new URL. Redis does not undo a script's writes when a later command in it
/// fails, so the increment, the one command that can fail (on a version that is not a number),
/// goes first.
static SET_AVATAR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"-- KEYS: user, avatar. ARGV: content type, data, now.
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        redis.call('HINCRBY', KEYS[1], 'avatar_version', 1)
        redis.call('HSET', KEYS[2], 'content_type', ARGV[1], 'data', ARGV[2])
        redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
        return redis.call('HGETALL', KEYS[1])",
    )
});

fn user_key(id: &str) -> String {
    format!("parley:user:{id}")
}

fn username_key(username: &str) -> String {
    format!("parley:username:{}", username.to_lowercase())
}

fn email_key(email: &str) -> String {
    format!("parley:email:{}", email.to_lowercase())
}

fn session_key(token_hash: &[u8]) -> String {
    format!("parley:session:{}", hex::encode(token_hash))
}

fn avatar_key(id: &str) -> String {
    format!("parley:avatar:{id}")
}

type Fields = HashMap<String, Vec<u8>>;

/// A hash as read, taken apart field by field into errors that name the key and field.
struct Record {
    key: String,
    fields: Fields,
}

impl Record {
    /// `None` for an empty hash, which in Redis is a missing key.
    fn new(key: String, fields: Fields) -> Option<Record> {
        (!fields.is_empty()).then_some(Record { key, fields })
    }

    fn malformed(&self, problem: String) -> StoreError {
        StoreError::Malformed(format!("{}: {problem}", self.key))
    }

    fn bytes(&mut self, field: &str) -> Result<Vec<u8>, StoreError> {
        self.fields
            .remove(field)
            .ok_or_else(|| self.malformed(format!("field `{field}` is missing")))
    }

    fn text(&mut self, field: &str) -> Result<String, StoreError> {
        let bytes = self.bytes(field)?;
        String::from_utf8(bytes).map_err(|_| self.malformed(format!("field `{field}` is not UTF-8")))
    }

    fn integer(&mut self, field: &str) -> Result<i64, StoreError> {
        let text = self.text(field)?;
        text.parse()
            .map_err(|_| self.malformed(format!("field `{field}` is not an integer: {text:?}")))
    }

    fn optional_integer(&mut self, field: &str) -> Result<Option<i64>, StoreError> {
        match self.fields.contains_key(field) {
            true => self.integer(field).map(Some),
            false => Ok(None),
        }
    }

    /// The user this `parley:user:{id}` hash describes, built as SQLite builds it.
    fn user(&mut self, id: &str) -> Result<User, StoreError> {
        let avatar_version = self.optional_integer("avatar_version")?;
        Ok(User {
            avatar_url: avatar_version.map(|v| avatar_url(id, v)),
            id: id.to_owned(),
            username: self.text("username")?,
            email: Some(self.text("email")?),
            display_name: self.text("display_name")?,
            bio: self.text("bio")?,
            status: self.text("status")?,
            created_at: self.integer("created_at")?,
        })
    }
}

/// The user in a script's reply of `HGETALL` on `parley:user:{id}`; a nil reply (the script
/// found no such user) is `NoSuchUser`.
fn user_from_reply(id: &str, reply: Option<Fields>) -> Result<User, StoreError> {
    Record::new(user_key(id), reply.unwrap_or_default())
        .ok_or(StoreError::NoSuchUser)?
        .user(id)
}

#[derive(Clone)]
pub(super) struct RedisStore {
    /// Reconnects by itself after Redis restarts or the connection drops; clones share it.
    conn: ConnectionManager,
}

impl RedisStore {
    /// Connects now, so that a wrong URL or an unreachable server stops the start-up instead of
    /// failing the first request. An unreachable server is retried with backoff (the connection
    /// manager's default, about ten seconds in all) before that: Redis may be starting too.
    pub async fn open(url: &str) -> Result<RedisStore, StoreError> {
        let conn = crate::redis_conn::manager(&Client::open(url)?).await?;
        Ok(RedisStore { conn })
    }

    async fn hash(&self, key: String) -> Result<Option<Record>, StoreError> {
        let fields: Fields = cmd("HGETALL").arg(&key).query_async(&mut self.conn.clone()).await?;
        Ok(Record::new(key, fields))
    }

    /// The user `id`, or `None` if there is no such user.
    async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        match self.hash(user_key(id)).await? {
            Some(mut record) => record.user(id).map(Some),
            None => Ok(None),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(cmd("PING").query_async(&mut self.conn.clone()).await?)
    }

    pub async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let reply: Value = CREATE_USER
            .key(user_key(&user.id))
            .key(username_key(&user.username))
            .key(email_key(&user.email))
            .arg(&user.id)
            .arg(&user.username)
            .arg(&user.email)
            .arg(&user.password_hash)
            .arg(&user.display_name)
            .arg(now())
            .invoke_async(&mut self.conn.clone())
            .await?;
        match reply {
            Value::BulkString(taken) if taken == b"username" => Err(StoreError::UsernameTaken),
            Value::BulkString(taken) if taken == b"email" => Err(StoreError::EmailTaken),
            // 128 random bits colliding means a broken random source, not a retry.
            Value::BulkString(taken) if taken == b"id" => {
                Err(StoreError::Task(format!("user id {} is already in use", user.id)))
            }
            written => {
                let fields = Option::<Fields>::from_redis_value(written).map_err(RedisError::from)?;
                user_from_reply(&user.id, fields)
            }
        }
    }

    pub async fn find_login(&self, login: String) -> Result<Option<(User, String)>, StoreError> {
        let (by_username, by_email): (Option<String>, Option<String>) = cmd("MGET")
            .arg(username_key(&login))
            .arg(email_key(&login))
            .query_async(&mut self.conn.clone())
            .await?;
        let Some(id) = by_username.or(by_email) else {
            return Ok(None);
        };
        // A login key left behind by a user removed by hand signs no one in.
        let Some(mut record) = self.hash(user_key(&id)).await? else {
            return Ok(None);
        };
        let user = record.user(&id)?;
        Ok(Some((user, record.text("password_hash")?)))
    }

    pub async fn create_session(&self, user_id: String, token_hash: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).min(MAX_TTL_MS);
        // Redis refuses a zero expiry; a session over before it starts needs no key at all.
        if ttl_ms == 0 {
            return Ok(());
        }
        let created: i64 = CREATE_SESSION
            .key(user_key(&user_id))
            .key(session_key(&token_hash))
            .arg(&user_id)
            .arg(ttl_ms)
            .invoke_async(&mut self.conn.clone())
            .await?;
        match created {
            1 => Ok(()),
            _ => Err(StoreError::NoSuchUser),
        }
    }

    pub async fn session_user(&self, token_hash: Vec<u8>) -> Result<Option<User>, StoreError> {
        let user_id: Option<String> = cmd("GET")
            .arg(session_key(&token_hash))
            .query_async(&mut self.conn.clone())
            .await?;
        match user_id {
            // A session whose user is gone is no session, as SQLite's join has it.
            Some(id) => self.user(&id).await,
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        Ok(cmd("DEL")
            .arg(session_key(&token_hash))
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// Sessions are keys that expire by themselves: nothing is left to purge.
    pub async fn purge_expired_sessions(&self) -> Result<usize, StoreError> {
        Ok(0)
    }

    pub async fn update_profile(&self, user_id: String, change: ProfileChange) -> Result<User, StoreError> {
        let mut script = UPDATE_USER.key(user_key(&user_id));
        script.arg("updated_at").arg(now());
        for (field, value) in [
            ("display_name", change.display_name),
            ("bio", change.bio),
            ("status", change.status),
        ] {
            if let Some(value) = value {
                script.arg(field).arg(value);
            }
        }
        let reply: Option<Fields> = script.invoke_async(&mut self.conn.clone()).await?;
        user_from_reply(&user_id, reply)
    }

    pub async fn set_avatar(&self, user_id: String, avatar: Avatar) -> Result<User, StoreError> {
        let reply: Option<Fields> = SET_AVATAR
            .key(user_key(&user_id))
            .key(avatar_key(&user_id))
            .arg(&avatar.content_type)
            .arg(&avatar.data)
            .arg(now())
            .invoke_async(&mut self.conn.clone())
            .await?;
        user_from_reply(&user_id, reply)
    }

    pub async fn avatar(&self, user_id: String) -> Result<Option<Avatar>, StoreError> {
        let Some(mut record) = self.hash(avatar_key(&user_id)).await? else {
            return Ok(None);
        };
        Ok(Some(Avatar {
            content_type: record.text("content_type")?,
            data: record.bytes("data")?,
        }))
    }
}
