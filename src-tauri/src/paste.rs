//! Files the page hands over as bytes (an image pasted from the clipboard): kept in the profile
//! under their own name, so they are sent, resumed and re-sent like any file on disk.

use std::path::{Path, PathBuf};

/// Where pasted files are kept, one folder per paste.
const FOLDER: &str = "outgoing";
/// Pasted files larger than this are refused (the clipboard is for pictures, not archives).
pub const MAX_PASTE: usize = 256 * 1024 * 1024;

/// Decodes a header the page URI-encoded (`encodeURIComponent`); None if it is not valid
/// UTF-8 or not URI-encoded.
pub fn decode_header(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

/// The name's last path component with separators and control characters removed; `pasted`
/// when nothing usable is left. (The core makes names safe again on the receiving side.)
fn plain_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "pasted".to_owned()
    } else {
        cleaned.chars().take(120).collect()
    }
}

/// Writes `bytes` to `<profile>/outgoing/<random>/<name>` and returns the path.
pub fn keep(profile: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    if bytes.len() > MAX_PASTE {
        return Err(std::io::Error::other(format!(
            "pasted files are limited to {} MiB; attach it as a file instead",
            MAX_PASTE / (1024 * 1024)
        )));
    }
    let folder = profile.join(FOLDER).join(format!("{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&folder)?;
    let path = folder.join(plain_name(name));
    std::fs::write(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_uri_decoded() {
        assert_eq!(decode_header("Pasted%20image.png").as_deref(), Some("Pasted image.png"));
        assert_eq!(decode_header("%E2%9C%93.png").as_deref(), Some("✓.png"));
        assert_eq!(decode_header("%ZZ"), None);
        assert_eq!(decode_header("%"), None);
        assert_eq!(decode_header("%FF"), None);
        assert_eq!(decode_header(""), None);
    }

    #[test]
    fn pasted_files_stay_in_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["../../evil.png", "/etc/passwd", "..", "a\u{0}b.png", "C:\\x\\y.png"] {
            let path = keep(dir.path(), name, b"x").unwrap();
            assert!(path.starts_with(dir.path().join(FOLDER)), "{name}: {path:?}");
            assert_eq!(path.parent().unwrap().parent().unwrap(), dir.path().join(FOLDER));
        }
        assert_eq!(plain_name("../../evil.png"), "evil.png");
        assert_eq!(plain_name(".."), "pasted");
    }
}
