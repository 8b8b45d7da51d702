//! Accounts for the v1 clients, written straight into the server's SQLite database.
//!
//! Registering thousands of accounts through the API would take minutes (argon2id per
//! registration, and the auth rate limit), so the bench writes users and sessions itself, the
//! way the server stores them: a session is the SHA-256 of its token. Run after the server has
//! started (it creates and migrates the database); SQLite's WAL lets the two processes share the
//! file, and the server reads every session from the database when a client connects.
//!
//! Seeded accounts have no usable password (the hash is not a PHC string, so every password
//! login fails); only their session tokens sign in.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

/// Creates `accounts` users, each with one session valid for a day; returns their tokens, in
/// order (`bench-user-0` first).
pub fn seed(db: &Path, accounts: usize) -> Result<Vec<String>, String> {
    let e = |e: rusqlite::Error| format!("seeding {}: {e}", db.display());
    let mut conn = Connection::open(db).map_err(e)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(e)?;
    // 128 random bits shared by this run's tokens and user ids; the index makes each unique.
    let mut nonce = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut nonce))
        .map_err(|err| format!("/dev/urandom: {err}"))?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut tokens = Vec::with_capacity(accounts);
    let tx = conn.transaction().map_err(e)?;
    {
        let mut user = tx
            .prepare(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash, display_name, created_at, updated_at)
                 VALUES (?1, ?2, ?2, ?3, ?3, '!seeded by signal-load: no password', ?4, ?5, ?5)",
            )
            .map_err(e)?;
        let mut session = tx
            .prepare("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
            .map_err(e)?;
        for i in 0..accounts {
            // Shaped like the server's own: 32 hex digits of id, a 43-character token.
            let id = format!("{}{i:016x}", &nonce[..16]);
            let username = format!("bench-user-{i}");
            let email = format!("{username}@example.com");
            let display_name = format!("Bench User {i}");
            user.execute(params![id, username, email, display_name, now])
                .map_err(e)?;
            let token = format!("{nonce}{i:011}");
            let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            session
                .execute(params![&hash[..], id, now, now + 24 * 3600])
                .map_err(e)?;
            tokens.push(token);
        }
    }
    tx.commit().map_err(e)?;
    Ok(tokens)
}
