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

/// One account as seeded: ids and tokens shaped like the server's own (32 hex digits of id, a
/// 43-character token), unique per run through a random nonce.
struct Seeded {
    id: String,
    username: String,
    email: String,
    display_name: String,
    token: String,
    token_hash: [u8; 32],
}

fn accounts_for_run(accounts: usize) -> Result<impl Iterator<Item = Seeded>, String> {
    // 128 random bits shared by this run's tokens and user ids; the index makes each unique.
    let mut nonce = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut nonce))
        .map_err(|err| format!("/dev/urandom: {err}"))?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    Ok((0..accounts).map(move |i| {
        let username = format!("bench-user-{i}");
        let token = format!("{nonce}{i:011}");
        Seeded {
            id: format!("{}{i:016x}", &nonce[..16]),
            email: format!("{username}@example.com"),
            display_name: format!("Bench User {i}"),
            token_hash: Sha256::digest(token.as_bytes()).into(),
            token,
            username,
        }
    }))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The same accounts written into a scaled-out server's Redis, in the layout of
/// `signaling/src/store/redis.rs`; returns their tokens in order.
pub fn seed_redis(url: &str, accounts: usize) -> Result<Vec<String>, String> {
    let e = |e: redis::RedisError| format!("seeding {url}: {e}");
    let mut conn = redis::Client::open(url).and_then(|c| c.get_connection()).map_err(e)?;
    let now = unix_now();
    let mut tokens = Vec::with_capacity(accounts);
    let mut pipe = redis::pipe();
    for a in accounts_for_run(accounts)? {
        pipe.hset_multiple(
            format!("parley:user:{}", a.id),
            &[
                ("username", a.username.as_str()),
                ("email", a.email.as_str()),
                ("password_hash", "!seeded by signal-load: no password"),
                ("display_name", a.display_name.as_str()),
                ("bio", ""),
                ("status", ""),
                ("created_at", &now.to_string()),
                ("updated_at", &now.to_string()),
            ],
        )
        .ignore();
        pipe.set(format!("parley:username:{}", a.username), &a.id).ignore();
        pipe.set(format!("parley:email:{}", a.email), &a.id).ignore();
        let hash: String = a.token_hash.iter().map(|b| format!("{b:02x}")).collect();
        pipe.pset_ex(format!("parley:session:{hash}"), &a.id, 24 * 3600 * 1000)
            .ignore();
        tokens.push(a.token);
    }
    pipe.query::<()>(&mut conn).map_err(e)?;
    Ok(tokens)
}

/// Creates `accounts` users, each with one session valid for a day; returns their tokens, in
/// order (`bench-user-0` first).
pub fn seed(db: &Path, accounts: usize) -> Result<Vec<String>, String> {
    let e = |e: rusqlite::Error| format!("seeding {}: {e}", db.display());
    let mut conn = Connection::open(db).map_err(e)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(e)?;
    let now = unix_now();
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
        for a in accounts_for_run(accounts)? {
            user.execute(params![a.id, a.username, a.email, a.display_name, now])
                .map_err(e)?;
            session
                .execute(params![&a.token_hash[..], a.id, now, now + 24 * 3600])
                .map_err(e)?;
            tokens.push(a.token);
        }
    }
    tx.commit().map_err(e)?;
    Ok(tokens)
}
