//! The offer: the `file` object of a chat message (`docs/file-protocol.md` §1). Made here from a
//! file on disk (hash, type, thumbnail), and checked here when a peer sends one.

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::mime::{guess_mime, is_image, valid_mime};
use super::picture::{self, PictureError, MAX_THUMB_BASE64};
use super::safe_name::safe_file_name;
use super::FileError;
use parley_history::{FileTransfer, NewFile, TransferState};

/// Longest offered name, in bytes, before it is made safe.
const MAX_OFFERED_NAME: usize = 1024;
/// Largest size JavaScript can count exactly (the UI shows sizes and progress).
pub(crate) const MAX_FILE_SIZE: u64 = (1 << 53) - 1;
const MAX_DIMENSION: u32 = 100_000;
/// Bytes read at a time while hashing.
const READ_BLOCK: usize = 1 << 20;

/// The `file` object of a `msg` chat frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileOffer {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) mime: String,
    pub(crate) sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<ImageInfo>,
}

/// What an offer says about a picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageInfo {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Base64 JPEG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) thumb: Option<String>,
}

fn valid_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl FileOffer {
    /// Bounds every field (the chat frame's check calls this).
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.name.is_empty() || self.name.len() > MAX_OFFERED_NAME {
            return Err("file name is empty or too long");
        }
        if self.size > MAX_FILE_SIZE {
            return Err("file is too large");
        }
        if !valid_mime(&self.mime) {
            return Err("file type is not valid");
        }
        if !valid_sha256(&self.sha256) {
            return Err("file hash is not valid");
        }
        if let Some(image) = &self.image {
            let dims = 1..=MAX_DIMENSION;
            if !dims.contains(&image.width) || !dims.contains(&image.height) {
                return Err("image dimensions are not valid");
            }
            if image.thumb.as_ref().is_some_and(|t| t.len() > MAX_THUMB_BASE64) {
                return Err("thumbnail is too large");
            }
        }
        Ok(())
    }

    /// The offer of a stored outgoing transfer (what the outbox sends).
    pub(crate) fn from_transfer(file: &FileTransfer) -> FileOffer {
        FileOffer {
            name: file.name.clone(),
            size: file.size,
            mime: file.mime.clone(),
            sha256: file.sha256.clone(),
            image: file.width.zip(file.height).map(|(width, height)| ImageInfo {
                width,
                height,
                thumb: file.thumbnail.clone(),
            }),
        }
    }

    /// What to store for an offer that arrived: the name made safe, the thumbnail checked and
    /// re-encoded by us (or dropped), never the peer's bytes as they came.
    pub(crate) async fn receive(&self, state: TransferState) -> NewFile {
        let thumbnail = match self.image.as_ref().and_then(|i| i.thumb.as_deref()) {
            Some(thumb) => match base64::engine::general_purpose::STANDARD.decode(thumb) {
                Ok(bytes) => picture::off_runtime(picture::DECODE_TIMEOUT, move || picture::check_thumbnail(&bytes))
                    .await
                    .map_err(|e| tracing::info!(error = %e, "offered thumbnail refused"))
                    .ok(),
                Err(e) => {
                    tracing::info!(error = %e, "offered thumbnail is not base64");
                    None
                }
            },
            None => None,
        };
        NewFile {
            name: safe_file_name(&self.name),
            size: self.size,
            mime: self.mime.clone(),
            sha256: self.sha256.clone(),
            width: self.image.as_ref().map(|i| i.width),
            height: self.image.as_ref().map(|i| i.height),
            thumbnail,
            state,
            path: None,
            source_stamp: None,
        }
    }
}

/// A file's size and modification time, to notice that it changed after it was offered.
pub(crate) fn stamp(meta: &std::fs::Metadata) -> (u64, i64) {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64);
    (meta.len(), mtime)
}

/// Reads a file once to describe it for an offer: size, hash, type, and for pictures the
/// dimensions and thumbnail. Blocking (a large file takes seconds): run it off the runtime.
pub(crate) fn describe(path: &Path) -> Result<NewFile, FileError> {
    let unreadable = |e: std::io::Error| FileError::Unreadable {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(FileError::NotAFile(path.display().to_string()));
    }
    let before = stamp(&meta);
    if before.0 > MAX_FILE_SIZE {
        return Err(FileError::TooLarge);
    }
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut block = vec![0u8; READ_BLOCK];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut block).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        if head.is_empty() {
            head.extend_from_slice(&block[..n.min(512)]);
        }
        hasher.update(&block[..n]);
        total += n as u64;
    }
    let after = std::fs::metadata(path).map(|m| stamp(&m)).map_err(unreadable)?;
    if after != before || total != before.0 {
        return Err(FileError::ChangedWhileReading(path.display().to_string()));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let mime = guess_mime(&name, &head);
    let (width, height, thumbnail) = if is_image(&mime) {
        match picture::make_thumbnail(path) {
            Ok(t) => (Some(t.width), Some(t.height), Some(t.jpeg)),
            Err(PictureError::NotAnImage) => (None, None, None),
            Err(e) => {
                tracing::info!(error = %e, "no thumbnail for this picture");
                (None, None, None)
            }
        }
    } else {
        (None, None, None)
    };
    Ok(NewFile {
        name: safe_file_name(&name),
        size: total,
        mime,
        sha256: hex::encode(hasher.finalize()),
        width,
        height,
        thumbnail,
        state: TransferState::Waiting,
        path: Some(path.display().to_string()),
        source_stamp: Some(before),
    })
}
