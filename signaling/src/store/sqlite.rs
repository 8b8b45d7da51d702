//! The SQLite backend: users, sessions and avatars in one embedded database file.
//!
//! One connection behind a mutex, used from `spawn_blocking`: every statement is a short indexed
//! lookup or write, so a pool would buy nothing but contention. WAL mode with `synchronous=NORMAL`
//! keeps every committed transaction across a `kill -9` of the server (only an OS crash could
//! lose the last few).

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};

use super::{avatar_url, now, Avatar, NewUser, ProfileChange, StoreError};
use parley_protocol::User;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/0001_accounts.sql")];

#[derive(Clone)]
pub(super) struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

const USER_COLUMNS: &str = "id, username, email, display_name, bio, status, avatar_version, created_at";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let id: String = row.get(0)?;
    let avatar_version: Option<i64> = row.get(6)?;
    Ok(User {
        avatar_url: avatar_version.map(|v| avatar_url(&id, v)),
        id,
        username: row.get(1)?,
        email: Some(row.get(2)?),
        display_name: row.get(3)?,
        bio: row.get(4)?,
        status: row.get(5)?,
        created_at: row.get(7)?,
    })
}

fn user_by_id(conn: &Connection, id: &str) -> Result<User, StoreError> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id],
        user_from_row,
    )
    .optional()?
    .ok_or(StoreError::NoSuchUser)
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// A database file at `path` (created with its directory), or a private in-memory one.
    pub fn open(path: Option<&Path>) -> Result<SqliteStore, StoreError> {
        let mut conn = match path {
            None => Connection::open_in_memory()?,
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Task(format!("{}: {e}", dir.display())))?;
                }
                Connection::open(path)?
            }
        };
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection off the async executor.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock();
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.with(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    pub async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.with(move |conn| {
            let now = now();
            let inserted = conn.execute(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash, display_name, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    user.id,
                    user.username,
                    user.username.to_lowercase(),
                    user.email,
                    user.email.to_lowercase(),
                    user.password_hash,
                    user.display_name,
                    now
                ],
            );
            match inserted {
                Ok(_) => user_by_id(conn, &user.id),
                Err(rusqlite::Error::SqliteFailure(e, Some(msg))) if e.code == ErrorCode::ConstraintViolation => {
                    Err(if msg.contains("username_key") { StoreError::UsernameTaken } else { StoreError::EmailTaken })
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The user whose username or email is `login` (case-insensitively), with the password hash.
    pub async fn find_login(&self, login: String) -> Result<Option<(User, String)>, StoreError> {
        self.with(move |conn| {
            let key = login.to_lowercase();
            let sql = format!(
                "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username_key = ?1 OR email_key = ?1 LIMIT 1"
            );
            Ok(conn
                .query_row(&sql, [key], |row| Ok((user_from_row(row)?, row.get(8)?)))
                .optional()?)
        })
        .await
    }

    pub async fn create_session(&self, user_id: String, token_hash: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        self.with(move |conn| {
            let now = now();
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, user_id, now, now.saturating_add(ttl.as_secs() as i64)],
            )?;
            Ok(())
        })
        .await
    }

    /// The user owning an unexpired session.
    pub async fn session_user(&self, token_hash: Vec<u8>) -> Result<Option<User>, StoreError> {
        self.with(move |conn| {
            let sql = format!(
                "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
            );
            Ok(conn.query_row(&sql, params![token_hash, now()], user_from_row).optional()?)
        })
        .await
    }

    pub async fn delete_session(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        self.with(move |conn| {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
        .await
    }

    pub async fn purge_expired_sessions(&self) -> Result<usize, StoreError> {
        self.with(|conn| Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now()])?))
            .await
    }

    pub async fn update_profile(&self, user_id: String, change: ProfileChange) -> Result<User, StoreError> {
        self.with(move |conn| {
            let changed = conn.execute(
                "UPDATE users SET display_name = COALESCE(?2, display_name), bio = COALESCE(?3, bio),
                 status = COALESCE(?4, status), updated_at = ?5 WHERE id = ?1",
                params![user_id, change.display_name, change.bio, change.status, now()],
            )?;
            if changed == 0 {
                return Err(StoreError::NoSuchUser);
            }
            user_by_id(conn, &user_id)
        })
        .await
    }

    pub async fn set_avatar(&self, user_id: String, avatar: Avatar) -> Result<User, StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO avatars (user_id, content_type, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT(user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data",
                params![user_id, avatar.content_type, avatar.data],
            )?;
            tx.execute(
                "UPDATE users SET avatar_version = COALESCE(avatar_version, 0) + 1, updated_at = ?2 WHERE id = ?1",
                params![user_id, now()],
            )?;
            tx.commit()?;
            user_by_id(conn, &user_id)
        })
        .await
    }

    pub async fn avatar(&self, user_id: String) -> Result<Option<Avatar>, StoreError> {
        self.with(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT content_type, data FROM avatars WHERE user_id = ?1",
                    [user_id],
                    |row| {
                        Ok(Avatar {
                            content_type: row.get(0)?,
                            data: row.get(1)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }
}
