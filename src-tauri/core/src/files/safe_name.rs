//! Names for received files (`docs/file-protocol.md`, "Safe names"): the peer's name is a label
//! we borrow, never a path, and a received file never replaces one that is already there.

use std::collections::hash_map::RandomState;
use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

/// Longest name [`safe_file_name`] returns, in bytes: below the 255-byte limit of common file
/// systems with room for the " (n)" that [`reserve_unique`] may add.
pub(crate) const MAX_NAME_BYTES: usize = 200;

/// Longest tail after the last dot that still counts as an extension when a name is cut.
const MAX_EXTENSION_BYTES: usize = 16;

/// Attempts [`reserve_unique`] makes before it gives up.
const MAX_RESERVE_TRIES: u32 = 10_000;

/// What a name becomes when nothing usable is left of it.
const FALLBACK_NAME: &str = "file";

/// A name for `offered` (the peer's file name) that is safe to create in the download folder:
/// one plain component, no characters Windows refuses or that disguise the name, not a device
/// name, NFC, at most [`MAX_NAME_BYTES`] bytes, never empty. Deterministic, and applying it to
/// its own result changes nothing.
pub(crate) fn safe_file_name(offered: &str) -> String {
    // Both separators on every platform: a name from Windows must not become a path on Unix
    // or the other way round.
    let last = offered.rsplit(['/', '\\']).next().unwrap_or_default();
    // Cleaning before NFC lets characters that an invisible one kept apart compose; cleaning
    // again after it keeps the guarantees even if some normalization produced a refused char.
    let normalized: String = clean(last).nfc().collect();
    let cleaned = clean(&normalized);
    let trimmed = cleaned.trim_matches(is_trimmed);
    if trimmed.is_empty() {
        return FALLBACK_NAME.to_owned();
    }
    cut_to_limit(defuse_device_name(trimmed))
}

/// Replaces the characters file systems refuse and drops the ones that are invisible or
/// reorder text (a right-to-left override turns `photo\u{202E}gpj.exe` into what reads as
/// `photoexe.jpg`).
fn clean(s: &str) -> String {
    s.chars()
        .filter(|&c| !is_hidden(c))
        .map(|c| match c {
            ':' | '*' | '?' | '"' | '<' | '>' | '|' | '/' | '\\' => '_',
            c => c,
        })
        .collect()
}

/// Controls, bidirectional controls, format characters, line separators and the blank
/// fillers that render as nothing.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{FFFE}'..='\u{FFFF}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Windows drops trailing dots and spaces, so `x.exe.` and `x.exe ` open as `x.exe`; leading
/// ones hide a file on Unix or make it look like another.
fn is_trimmed(c: char) -> bool {
    c == '.' || c.is_whitespace()
}

/// Appends `_` to a Windows device name (`NUL.txt` → `NUL_.txt`): Windows opens the device for
/// such a name whatever the extension.
fn defuse_device_name(name: &str) -> String {
    let first_part = name.split('.').next().unwrap_or_default();
    // Windows also ignores spaces between the device name and the extension (`NUL .txt`).
    let stem = first_part.trim_end_matches(' ');
    if is_device_name(stem) {
        format!("{stem}_{}", &name[stem.len()..])
    } else {
        name.to_owned()
    }
}

/// Whether Windows reserves `stem` (compared without regard to ASCII case), including the
/// superscript-digit ports it also reserves.
fn is_device_name(stem: &str) -> bool {
    if stem.len() > "CONOUT$".len() {
        return false;
    }
    let upper = stem.to_ascii_uppercase();
    if matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$") {
        return true;
    }
    match upper.strip_prefix("COM").or_else(|| upper.strip_prefix("LPT")) {
        Some(port) => {
            let mut chars = port.chars();
            matches!((chars.next(), chars.next()), (Some('0'..='9' | '¹' | '²' | '³'), None))
        }
        None => false,
    }
}

/// Cuts `name` to [`MAX_NAME_BYTES`] on a character boundary, keeping a short extension so the
/// file still opens with the right program.
fn cut_to_limit(name: String) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let extension = name
        .rfind('.')
        .filter(|&dot| dot > 0)
        .map(|dot| &name[dot + 1..])
        .filter(|ext| !ext.is_empty() && ext.len() <= MAX_EXTENSION_BYTES);
    match extension {
        Some(ext) => {
            let stem = &name[..name.len() - ext.len() - 1];
            let stem = prefix_within(stem, MAX_NAME_BYTES - ext.len() - 1).trim_end_matches(is_trimmed);
            format!("{stem}.{ext}")
        }
        None => prefix_within(&name, MAX_NAME_BYTES)
            .trim_end_matches(is_trimmed)
            .to_owned(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix_within(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Creates an empty `dir/name`, or `dir/stem (1).ext`, `dir/stem (2).ext`, … for the first
/// name nobody has, and returns its path. The caller moves the real file over it: holding the
/// name from the start means two transfers never pick the same one and nothing is overwritten.
/// `name` must come from [`safe_file_name`]; one that would land outside `dir` is refused.
pub(crate) fn reserve_unique(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let (stem, extension) = split_extension(name);
    for n in 0..MAX_RESERVE_TRIES {
        let candidate = match (n, extension) {
            (0, _) => name.to_owned(),
            (n, Some(ext)) => format!("{stem} ({n}).{ext}"),
            (n, None) => format!("{stem} ({n})"),
        };
        let path = dir.join(&candidate);
        // Defence in depth: `..`, an absolute name or a separator would escape `dir`.
        if path.parent() != Some(dir) || path.file_name() != Some(OsStr::new(&candidate)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{candidate:?} is not a plain file name"),
            ));
        }
        // `create_new` fails on anything already there, a dangling symlink included.
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{MAX_RESERVE_TRIES} files named like {name:?} already exist in {}",
            dir.display()
        ),
    ))
}

/// `name` split at its last dot, unless that dot starts the name (`.profile` has no extension).
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => (&name[..dot], Some(&name[dot + 1..])),
        _ => (name, None),
    }
}

/// Why received files cannot go to the download folder, worded for the person who can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FolderError {
    /// The folder is not there (removed, renamed, or on a disk that is not connected).
    #[error("the download folder {} does not exist: choose another in Settings", .0.display())]
    Missing(PathBuf),
    /// The path names a file or something else that is not a folder.
    #[error("the download folder {} is not a folder: choose another in Settings", .0.display())]
    NotAFolder(PathBuf),
    /// Files cannot be created in the folder.
    #[error(
        "cannot save files in the download folder {}: allow writing to it or choose another in Settings",
        .0.display()
    )]
    ReadOnly(PathBuf),
}

/// Checks that files can be created in `dir` by creating and removing a file there: permission
/// bits alone miss read-only mounts, ACLs and sandboxes.
pub(crate) fn check_folder_writable(dir: &Path) -> Result<(), FolderError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(FolderError::NotAFolder(dir.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(FolderError::Missing(dir.to_owned())),
        Err(e) => {
            tracing::debug!(error = %e, folder = %dir.display(), "download folder cannot be inspected");
            return Err(FolderError::ReadOnly(dir.to_owned()));
        }
    }
    // A few names in case a leftover test file or another check running now holds one.
    for _ in 0..4 {
        let probe = dir.join(format!(".parley-write-test-{:016x}", random_u64()));
        match OpenOptions::new().write(true).create_new(true).open(&probe) {
            Ok(file) => {
                drop(file);
                if let Err(e) = std::fs::remove_file(&probe) {
                    tracing::warn!(error = %e, file = %probe.display(), "write test file left behind");
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                tracing::debug!(error = %e, folder = %dir.display(), "download folder is not writable");
                return Err(FolderError::ReadOnly(dir.to_owned()));
            }
        }
    }
    Err(FolderError::ReadOnly(dir.to_owned()))
}

/// A value no other process or call is likely to pick; only to tell test files apart, so the
/// standard library's randomly keyed hasher is enough.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since_epoch.as_nanos());
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_component() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Windows\\x.exe"), "x.exe");
        assert_eq!(safe_file_name("/abs/olute"), "olute");
        assert_eq!(safe_file_name("dir/"), "file");
        assert_eq!(safe_file_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(safe_file_name(".."), "file");
    }

    #[test]
    fn replaces_refused_characters() {
        assert_eq!(safe_file_name("a:b*c?d\"e<f>g|h.txt"), "a_b_c_d_e_f_g_h.txt");
        assert_eq!(safe_file_name("C:x.exe"), "C_x.exe");
    }

    #[test]
    fn drops_invisible_and_reordering_characters() {
        assert_eq!(safe_file_name("\u{202E}gpj.exe"), "gpj.exe");
        assert_eq!(safe_file_name("photo\u{202E}gpj.exe"), "photogpj.exe");
        assert_eq!(safe_file_name("a\0b"), "ab");
        assert_eq!(
            safe_file_name("a\u{200B}\u{200D}\u{FEFF}b\u{2066}c\u{2069}\u{200E}\u{061C}"),
            "abc"
        );
        assert_eq!(safe_file_name("tab\there\nnew\u{85}line\u{7F}"), "tabherenewline");
        assert_eq!(safe_file_name("soft\u{AD}hyphen\u{E0041}.txt"), "softhyphen.txt");
    }

    #[test]
    fn trims_dots_and_whitespace() {
        assert_eq!(safe_file_name("  .hidden "), "hidden");
        assert_eq!(safe_file_name("report.pdf. . "), "report.pdf");
        assert_eq!(safe_file_name("...."), "file");
        assert_eq!(safe_file_name(" \u{3000}\u{A0} "), "file");
        assert_eq!(safe_file_name(""), "file");
        assert_eq!(safe_file_name("\u{202E}\u{200B}"), "file");
    }

    #[test]
    fn normalizes_to_nfc() {
        assert_eq!(safe_file_name("cafe\u{301}.txt"), "caf\u{E9}.txt");
        // An invisible character between the letter and its accent no longer keeps them apart.
        assert_eq!(safe_file_name("cafe\u{200B}\u{301}"), "caf\u{E9}");
    }

    #[test]
    fn defuses_windows_device_names() {
        assert_eq!(safe_file_name("NUL.txt"), "NUL_.txt");
        assert_eq!(safe_file_name("con.tar.gz"), "con_.tar.gz");
        assert_eq!(safe_file_name("aux"), "aux_");
        assert_eq!(safe_file_name("Com1.log"), "Com1_.log");
        assert_eq!(safe_file_name("lpt9"), "lpt9_");
        assert_eq!(safe_file_name("COM0"), "COM0_");
        assert_eq!(safe_file_name("COM\u{B9}.txt"), "COM\u{B9}_.txt");
        assert_eq!(safe_file_name("nul .txt"), "nul_ .txt");
        assert_eq!(safe_file_name("conout$"), "conout$_");
        assert_eq!(safe_file_name("x/prn"), "prn_");
        assert_eq!(safe_file_name("console.txt"), "console.txt");
        assert_eq!(safe_file_name("com10"), "com10");
        assert_eq!(safe_file_name("nul_.txt"), "nul_.txt");
    }

    #[test]
    fn cuts_long_names_keeping_the_extension() {
        let long = format!("{}.jpeg", "a".repeat(1000));
        let safe = safe_file_name(&long);
        assert_eq!(safe.len(), MAX_NAME_BYTES);
        assert!(safe.ends_with("aaa.jpeg"));

        // Multi-byte characters are cut whole.
        let long = format!("{}.txt", "é".repeat(500));
        let safe = safe_file_name(&long);
        assert!(safe.len() <= MAX_NAME_BYTES && safe.len() >= MAX_NAME_BYTES - 1);
        assert!(safe.ends_with("é.txt"));

        let emoji = format!("{}.png", "😀".repeat(300));
        let safe = safe_file_name(&emoji);
        assert!(safe.len() <= MAX_NAME_BYTES);
        assert!(safe.ends_with("😀.png"));

        // A tail too long to be an extension is cut like the rest.
        let long = format!("name.{}", "x".repeat(1000));
        assert_eq!(
            safe_file_name(&long),
            format!("name.{}", "x".repeat(MAX_NAME_BYTES - 5))
        );

        // The cut does not leave a dot or space before the extension's dot at the end.
        let long = format!("{}. .{}.txt", "b".repeat(194), "c".repeat(10));
        let safe = safe_file_name(&long);
        assert!(safe.len() <= MAX_NAME_BYTES);
        assert!(safe.ends_with(".txt"));
    }

    #[test]
    fn keeps_ordinary_names() {
        for name in [
            "report.pdf",
            "Holiday 2024 (1).jpg",
            "日本語のファイル.txt",
            "😀 party 🎉.png",
            "a",
            "x.tar.gz",
        ] {
            assert_eq!(safe_file_name(name), name);
        }
    }

    /// A small deterministic generator so the "property" tests need no extra crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const NASTY: &[&str] = &[
        ".",
        "..",
        "/",
        "\\",
        ":",
        "*",
        "?",
        "\"",
        "<",
        ">",
        "|",
        " ",
        "\t",
        "\n",
        "\0",
        "\u{7F}",
        "\u{85}",
        "\u{9F}",
        "\u{202A}",
        "\u{202E}",
        "\u{2066}",
        "\u{2069}",
        "\u{200E}",
        "\u{200F}",
        "\u{061C}",
        "\u{200B}",
        "\u{200D}",
        "\u{FEFF}",
        "\u{00AD}",
        "\u{2028}",
        "\u{E0001}",
        "\u{3000}",
        "\u{A0}",
        "e",
        "\u{301}",
        "\u{338}",
        "\u{226E}",
        "\u{37E}",
        "\u{FF0F}",
        "é",
        "😀",
        "👨‍👩‍👧",
        "日本",
        "CON",
        "nul",
        "COM1",
        "lpt\u{B2}",
        "CONIN$",
        "a",
        "Z",
        "0",
        "txt",
        "jpeg",
        ".exe",
        "../",
        "..\\",
        "C:",
        "~",
        "$",
        "%",
        "\u{10FFFF}",
        "\u{FFFF}",
        "\u{1160}",
        "x",
    ];

    fn nasty_name(rng: &mut XorShift) -> String {
        let most = if rng.below(10) == 0 { 400 } else { 24 };
        let parts = rng.below(most);
        (0..parts).map(|_| NASTY[rng.below(NASTY.len())]).collect()
    }

    fn assert_safe(offered: &str, safe: &str) {
        let why = format!("{offered:?} became {safe:?}");
        assert!(!safe.is_empty(), "{why}");
        assert!(safe.len() <= MAX_NAME_BYTES, "{why}");
        assert!(!safe.starts_with(is_trimmed) && !safe.ends_with(is_trimmed), "{why}");
        assert!(
            !safe.chars().any(|c| is_hidden(c) || ":*?\"<>|/\\".contains(c)),
            "{why}"
        );
        assert!(
            !is_device_name(safe.split('.').next().unwrap().trim_end_matches(' ')),
            "{why}"
        );
        assert_eq!(Path::new(safe).components().count(), 1, "{why}");
        assert_eq!(safe_file_name(safe), safe, "not idempotent: {why}");
        assert_eq!(safe_file_name(offered), safe, "not deterministic: {why}");
    }

    #[test]
    fn any_input_gives_a_safe_name() {
        let fixed = [
            String::new(),
            "../../etc/passwd".into(),
            "C:\\Windows\\x.exe".into(),
            "\u{202E}gpj.exe".into(),
            "a\0b".into(),
            "  .hidden ".into(),
            ".".repeat(1000),
            "a".repeat(1000),
            "é".repeat(1000),
            "😀".repeat(1000),
            format!("{}.{}", "😀".repeat(100), "😀".repeat(4)),
            format!("{}.tx\u{301}t", "e\u{301}".repeat(300)),
            format!("{}x", " ".repeat(1000)),
            "\u{202E}".repeat(1000),
            "NUL.".repeat(300),
        ];
        for offered in &fixed {
            assert_safe(offered, &safe_file_name(offered));
        }
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let offered = nasty_name(&mut rng);
            assert_safe(&offered, &safe_file_name(&offered));
        }
    }

    #[test]
    fn reserves_the_name_then_numbered_ones() {
        let dir = tempfile::tempdir().unwrap();
        let first = reserve_unique(dir.path(), "photo.jpg").unwrap();
        assert_eq!(first, dir.path().join("photo.jpg"));
        assert!(first.is_file());
        assert_eq!(
            reserve_unique(dir.path(), "photo.jpg").unwrap(),
            dir.path().join("photo (1).jpg")
        );
        assert_eq!(
            reserve_unique(dir.path(), "photo.jpg").unwrap(),
            dir.path().join("photo (2).jpg")
        );

        assert_eq!(reserve_unique(dir.path(), "notes").unwrap(), dir.path().join("notes"));
        assert_eq!(
            reserve_unique(dir.path(), "notes").unwrap(),
            dir.path().join("notes (1)")
        );

        assert_eq!(
            reserve_unique(dir.path(), "archive.tar.gz").unwrap(),
            dir.path().join("archive.tar.gz")
        );
        assert_eq!(
            reserve_unique(dir.path(), "archive.tar.gz").unwrap(),
            dir.path().join("archive.tar (1).gz")
        );
    }

    #[test]
    fn never_overwrites_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "keep").unwrap();
        std::fs::create_dir(dir.path().join("a (1).txt")).unwrap();
        let reserved = reserve_unique(dir.path(), "a.txt").unwrap();
        assert_eq!(reserved, dir.path().join("a (2).txt"));
        assert_eq!(std::fs::read_to_string(dir.path().join("a.txt")).unwrap(), "keep");
        assert_eq!(std::fs::metadata(&reserved).unwrap().len(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn does_not_follow_a_symlink_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        std::os::unix::fs::symlink(&target, dir.path().join("x.txt")).unwrap();
        assert_eq!(
            reserve_unique(dir.path(), "x.txt").unwrap(),
            dir.path().join("x (1).txt")
        );
        assert!(!target.exists());
    }

    #[test]
    fn refuses_names_that_leave_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["..", ".", "", "../x", "a/b", "/etc/passwd"] {
            let err = reserve_unique(dir.path(), name).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn numbered_names_race_free_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| s.spawn(|| reserve_unique(dir.path(), "same.bin").unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut unique = paths.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), paths.len());
    }

    #[test]
    fn folder_checks() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check_folder_writable(dir.path()), Ok(()));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "test file left behind"
        );

        let missing = dir.path().join("gone");
        assert_eq!(
            check_folder_writable(&missing),
            Err(FolderError::Missing(missing.clone()))
        );

        let file = dir.path().join("plain");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(check_folder_writable(&file), Err(FolderError::NotAFolder(file.clone())));

        let message = FolderError::Missing(missing.clone()).to_string();
        assert!(message.contains(&missing.display().to_string()) && message.contains("Settings"));
    }

    #[cfg(unix)]
    #[test]
    fn read_only_folder() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root ignores permission bits; there is nothing to check then.
        let probe = locked.join("probe");
        if std::fs::write(&probe, b"").is_ok() {
            std::fs::remove_file(&probe).unwrap();
            println!("skipped: permission bits are not enforced for this user");
        } else {
            assert_eq!(
                check_folder_writable(&locked),
                Err(FolderError::ReadOnly(locked.clone()))
            );
        }
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
