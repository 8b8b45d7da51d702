//! The history encrypted at rest with SQLCipher: every page of the database, its WAL and its
//! full-text index, with a random 256-bit key used raw (no key derivation on open).
//!
//! The key is the caller's to keep (the app core keeps it in the OS keyring); this module only
//! opens connections with it, refuses to run where the build cannot encrypt, tells a wrong key
//! from a damaged file, and turns a plaintext history into an encrypted one without a moment
//! where a crash could leave neither whole.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::HistoryError;

/// What a plaintext SQLite database starts with. SQLCipher encrypts the header too, so an
/// encrypted file starts with random bytes.
const PLAINTEXT_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The key a history is encrypted with: 256 random bits. Never logged (its `Debug` says
/// nothing), wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct HistoryKey([u8; 32]);

impl fmt::Debug for HistoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HistoryKey(…)")
    }
}

/// A string that is not a history key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a history key")]
pub struct InvalidKey;

/// Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 256 bits are 52 base32 characters (the last carries 1 bit and 4 zero bits).
const CODE_CHARS: usize = 52;

impl HistoryKey {
    /// A new random key (from the OS's random source).
    pub fn generate() -> HistoryKey {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let key = HistoryKey(bytes);
        bytes.zeroize();
        key
    }

    /// The key made of these bytes (a recovery code, decoded).
    pub fn from_bytes(bytes: [u8; 32]) -> HistoryKey {
        HistoryKey(bytes)
    }

    /// The raw key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lower-case hex digits: how the key is kept in the keyring.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key from [`HistoryKey::to_hex`]'s form.
    pub fn from_hex(text: &str) -> Result<HistoryKey, InvalidKey> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| InvalidKey)?;
        Ok(HistoryKey(bytes))
    }

    /// The recovery code: the key as people write it down: 52 characters in groups of four,
    /// `ABCD-EFGH-…`.
    pub fn to_recovery_code(&self) -> String {
        let bytes = &self.0;
        let mut chars = Vec::with_capacity(CODE_CHARS);
        let (mut buffer, mut bits) = (0u16, 0u32);
        for &byte in bytes {
            buffer = (buffer << 8) | u16::from(byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                chars.push(ALPHABET[usize::from((buffer >> bits) & 31)]);
            }
            buffer &= (1 << bits) - 1;
        }
        if bits > 0 {
            chars.push(ALPHABET[usize::from((buffer << (5 - bits)) & 31)]);
        }
        chars
            .chunks(4)
            .map(|group| std::str::from_utf8(group).expect("ASCII"))
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The key from a recovery code as a person typed it: any case, with or without dashes and
    /// spaces, and the letters people confuse with digits (I, L → 1; O → 0).
    pub fn from_recovery_code(code: &str) -> Result<HistoryKey, InvalidKey> {
        let invalid = || InvalidKey;
        let mut values = Vec::with_capacity(CODE_CHARS);
        for c in code.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            };
            let value = ALPHABET.iter().position(|&a| char::from(a) == c).ok_or_else(invalid)?;
            values.push(value as u16);
        }
        if values.len() != CODE_CHARS {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        let (mut buffer, mut bits, mut at) = (0u16, 0u32, 0usize);
        for value in values {
            buffer = (buffer << 5) | value;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                if at == bytes.len() {
                    return Err(invalid());
                }
                bytes[at] = (buffer >> bits) as u8;
                at += 1;
            }
            buffer &= (1 << bits) - 1;
        }
        // The padding bits of the last character are zero in every code this makes.
        if at != bytes.len() || buffer != 0 {
            return Err(invalid());
        }
        Ok(HistoryKey(bytes))
    }

    /// The key as SQLCipher takes it raw (no key derivation): `"x'<64 hex digits>'"`.
    fn sql_literal(&self) -> String {
        format!("\"x'{}'\"", self.to_hex())
    }
}

/// How a history database is opened.
#[derive(Clone)]
pub(crate) enum Encryption {
    Key(HistoryKey),
    /// Only for the benchmark's and the tests' control runs.
    #[cfg(any(test, feature = "test-utils"))]
    None,
}

/// Whether `path` holds a plaintext (unencrypted) SQLite database. False for a missing or empty
/// file.
pub fn is_plaintext(path: &Path) -> std::io::Result<bool> {
    let mut header = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut file) => match file.read_exact(&mut header) {
            Ok(()) => Ok(&header == PLAINTEXT_HEADER),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Opens a connection to `path` and unlocks it: the key goes first, before anything reads the
/// file. Checks that SQLCipher is really there (a plain SQLite linked by mistake would take the
/// key pragma silently and write plaintext) and that the key opens the file.
pub(crate) fn connect(path: &Path, flags: OpenFlags, encryption: &Encryption) -> Result<Connection, HistoryError> {
    let conn = Connection::open_with_flags(path, flags)?;
    match encryption {
        Encryption::Key(key) => {
            conn.execute_batch(&format!("PRAGMA key = {};", key.sql_literal()))?;
            let version: Option<String> = conn
                .query_row("PRAGMA cipher_version", [], |row| row.get(0))
                .optional()?;
            if version.is_none_or(|v| v.is_empty()) {
                return Err(HistoryError::CannotEncrypt);
            }
        }
        #[cfg(any(test, feature = "test-utils"))]
        Encryption::None => {}
    }
    // The first read is where a wrong key (or a file that is no database) shows.
    let readable = conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0));
    match readable {
        Ok(_) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::NotADatabase => {
            let plaintext = is_plaintext(path).unwrap_or(false);
            Err(if plaintext {
                HistoryError::Plaintext { path: path.to_owned() }
            } else {
                HistoryError::WrongKey { path: path.to_owned() }
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The steps of [`encrypt_plaintext`], for tests that crash it on purpose after each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The plaintext database is out of WAL mode: one file, complete.
    Consolidated,
    /// The encrypted copy is written and synced beside it.
    Exported,
    /// The encrypted copy took the plaintext file's place.
    Replaced,
}

/// Encrypts the plaintext history at `path` with `key`, in place and atomically: the encrypted
/// copy is written beside it, checked, synced and renamed over it, so a crash at any point leaves
/// either the old plaintext database or the new encrypted one, whole. Every row, the full-text
/// index and the schema version come along. Blocking.
pub fn encrypt_plaintext(path: &Path, key: &HistoryKey) -> Result<(), HistoryError> {
    encrypt_plaintext_with(path, key, |_| Ok(()))
}

pub(crate) fn encrypt_plaintext_with(
    path: &Path,
    key: &HistoryKey,
    mut after: impl FnMut(Step) -> Result<(), HistoryError>,
) -> Result<(), HistoryError> {
    let _span = tracing::info_span!("encrypt_history", path = %path.display()).entered();
    // A copy left by a crash before the rename is partial at best: the plaintext file is whole.
    let copy = sibling(path, ".encrypting");
    remove_if_present(&copy)?;
    {
        let plain = Connection::open(path)?;
        plain.busy_timeout(std::time::Duration::from_secs(5))?;
        // Out of WAL mode: everything in the one file, and no -wal left for the encrypted file
        // to mistake for its own once it has taken this name.
        let mode: String = plain.pragma_update_and_check(None, "journal_mode", "DELETE", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(HistoryError::Corrupt(format!("cannot leave journal mode {mode}")));
        }
        after(Step::Consolidated)?;
        let version: i64 = plain.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let rows: i64 = plain.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
        plain.execute(
            &format!("ATTACH DATABASE ?1 AS encrypted KEY {}", key.sql_literal()),
            [copy.to_string_lossy()],
        )?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        // sqlcipher_export copies the schema and the rows, not the header's user_version.
        plain.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
        ))?;
        let check = connect(&copy, OpenFlags::SQLITE_OPEN_READ_ONLY, &Encryption::Key(key.clone()))?;
        let copied: i64 = check.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
        if copied != rows {
            return Err(HistoryError::Corrupt(format!(
                "the encrypted copy has {copied} messages of {rows}"
            )));
        }
    }
    sync(&copy)?;
    after(Step::Exported)?;
    std::fs::rename(&copy, path).map_err(|source| io_error(path, source))?;
    if let Some(dir) = path.parent() {
        // The rename is durable once the directory is.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    after(Step::Replaced)?;
    // SQLite's own companions: `history.db-wal`, `history.db-shm`, `history.db-journal`.
    for stale in ["-journal", "-wal", "-shm"] {
        remove_if_present(&sibling(path, stale))?;
    }
    tracing::info!("history encrypted");
    Ok(())
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), HistoryError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path, e)),
        _ => Ok(()),
    }
}

fn sync(path: &Path) -> Result<(), HistoryError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> HistoryError {
    HistoryError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_round_trip_and_forgive_what_people_get_wrong() {
        for _ in 0..50 {
            let key = HistoryKey::generate();
            let code = key.to_recovery_code();
            assert_eq!(code.len(), CODE_CHARS + CODE_CHARS / 4 - 1, "{code}");
            assert_eq!(HistoryKey::from_recovery_code(&code).unwrap(), key);
            let sloppy = code
                .to_lowercase()
                .replace('-', " ")
                .replace('0', "o")
                .replace('1', "l");
            assert_eq!(HistoryKey::from_recovery_code(&sloppy).unwrap(), key);
        }
        let code = HistoryKey::from_bytes([0xff; 32]).to_recovery_code();
        assert!(code.starts_with("ZZZZ-"), "{code}");
        for bad in ["", "ABCD", &"Z".repeat(53), &"U".repeat(52), &"Z".repeat(52)] {
            assert!(matches!(HistoryKey::from_recovery_code(bad), Err(InvalidKey)), "{bad}");
        }
    }

    use crate::{History, InsertOutcome, NewMessage, MAX_PAGE};

    const CANARY: &str = "zebrafish-canary-7f3a";

    fn key() -> HistoryKey {
        HistoryKey::from_bytes([9; 32])
    }

    /// Every byte of every file in `dir` (database, WAL, shared memory, anything else).
    fn all_bytes(dir: &Path) -> Vec<u8> {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                bytes.extend(std::fs::read(entry.path()).unwrap());
            }
        }
        bytes
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    async fn store_canary(h: &History) {
        let new = NewMessage::incoming("bob", "m1", "bob", &format!("the {CANARY} swims"), 1, 2);
        assert!(matches!(
            h.insert_titled(new, "Bob").await.unwrap(),
            InsertOutcome::Inserted(_)
        ));
        h.insert_outgoing("bob", "m2", "me", &format!("{CANARY} back"), 3)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn no_message_text_reaches_the_disk_but_a_plaintext_control_run_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let h = History::open(&path, &key()).unwrap();
            store_canary(&h).await;
            // While open: the database, its WAL and shared memory.
            assert!(!contains(&all_bytes(dir.path()), CANARY));
            assert_eq!(h.search(CANARY, 10, None).await.unwrap().len(), 2, "search still works");
        }
        // After the closing checkpoint.
        let bytes = all_bytes(dir.path());
        assert!(!contains(&bytes, CANARY));
        assert!(!contains(&bytes, "swims"), "nor the index's terms");
        assert_ne!(&std::fs::read(&path).unwrap()[..16], PLAINTEXT_HEADER);

        // The check can fail: the same run unencrypted leaves the text on disk.
        let control = tempfile::tempdir().unwrap();
        let plain = control.path().join("history.db");
        {
            let h = History::open_unencrypted(&plain).unwrap();
            store_canary(&h).await;
        }
        assert!(contains(&all_bytes(control.path()), CANARY));
        assert!(is_plaintext(&plain).unwrap());
    }

    #[tokio::test]
    async fn a_wrong_key_or_no_key_is_a_typed_error_and_leaves_the_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let h = History::open(&path, &key()).unwrap();
            store_canary(&h).await;
        }
        let before = std::fs::read(&path).unwrap();
        let wrong = HistoryKey::from_bytes([8; 32]);
        assert!(matches!(
            History::open(&path, &wrong),
            Err(HistoryError::WrongKey { .. })
        ));
        assert!(matches!(
            History::open_unencrypted(&path),
            Err(HistoryError::WrongKey { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let h = History::open(&path, &key()).unwrap();
        assert_eq!(h.search(CANARY, 10, None).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_plaintext_history_is_refused_until_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        drop(History::open_unencrypted(&path).unwrap());
        assert!(matches!(
            History::open(&path, &key()),
            Err(HistoryError::Plaintext { .. })
        ));
    }

    #[test]
    fn keys_round_trip_through_hex_and_never_show_in_debug() {
        let key = HistoryKey::generate();
        assert_eq!(HistoryKey::from_hex(&key.to_hex()).unwrap(), key);
        assert_ne!(HistoryKey::generate(), key);
        assert_eq!(format!("{key:?}"), "HistoryKey(…)");
        assert_eq!(HistoryKey::from_hex("xyz"), Err(InvalidKey));
        assert_eq!(HistoryKey::from_hex(&"a".repeat(63)), Err(InvalidKey));
    }

    /// A plaintext history of an earlier version: a few hundred messages, a contact, unread ones.
    async fn plaintext_history(path: &Path) -> (usize, Vec<String>) {
        let h = History::open_unencrypted(path).unwrap();
        let batch = (0..300)
            .map(|i| {
                NewMessage::incoming(
                    &format!("peer{}", i % 3),
                    &format!("m{i}"),
                    &format!("peer{}", i % 3),
                    &format!("note {i} about {CANARY}"),
                    i,
                    i,
                )
            })
            .collect();
        h.insert_many(batch).await.unwrap();
        h.insert_outgoing("peer0", "o1", "me", "an outgoing one", 1)
            .await
            .unwrap();
        let hits: Vec<String> = h
            .search(CANARY, MAX_PAGE, None)
            .await
            .unwrap()
            .into_iter()
            .map(|hit| hit.message.id)
            .collect();
        (301, hits)
    }

    async fn assert_whole_and_encrypted(path: &Path, rows: usize, hits: &[String]) {
        assert!(!is_plaintext(path).unwrap());
        let h = History::open(path, &key()).unwrap();
        let found: Vec<String> = h
            .search(CANARY, MAX_PAGE, None)
            .await
            .unwrap()
            .into_iter()
            .map(|hit| hit.message.id)
            .collect();
        assert_eq!(found, hits, "search finds the same messages in the same order");
        let mut total = 0;
        for c in h.conversations().await.unwrap() {
            total += h.page(&c.id, None, MAX_PAGE).await.unwrap().messages.len();
        }
        assert_eq!(total, rows);
        assert_eq!(h.unacknowledged_outgoing(None).await.unwrap().len(), 1);
        let version: i64 = h
            .inner
            .writer
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, crate::schema::SCHEMA_VERSION);
        drop(h);
        assert!(!contains(&all_bytes(path.parent().unwrap()), CANARY));
    }

    #[tokio::test]
    async fn a_plaintext_history_is_encrypted_with_every_row_and_search_result() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let (rows, hits) = plaintext_history(&path).await;
        assert_eq!(hits.len(), 300);
        encrypt_plaintext(&path, &key()).unwrap();
        assert_whole_and_encrypted(&path, rows, &hits).await;
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| n.starts_with("history.db")) && !names.iter().any(|n| n.ends_with(".encrypting")),
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn a_crash_at_any_step_of_the_encryption_leaves_one_whole_history() {
        for crash_after in [Step::Consolidated, Step::Exported, Step::Replaced] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("history.db");
            let (rows, hits) = plaintext_history(&path).await;
            let crashed = encrypt_plaintext_with(&path, &key(), |step| {
                if step == crash_after {
                    Err(HistoryError::Corrupt(format!("crash injected after {step:?}")))
                } else {
                    Ok(())
                }
            });
            assert!(crashed.is_err());
            if is_plaintext(&path).unwrap() {
                // The old database, whole: it opens, and the next start encrypts it.
                assert_ne!(crash_after, Step::Replaced);
                let h = History::open_unencrypted(&path).unwrap();
                assert_eq!(h.search(CANARY, MAX_PAGE, None).await.unwrap().len(), hits.len());
                drop(h);
                encrypt_plaintext(&path, &key()).unwrap();
            } else {
                assert_eq!(crash_after, Step::Replaced, "encrypted before the rename?");
            }
            assert_whole_and_encrypted(&path, rows, &hits).await;
        }
    }
}
