//! The receiving side of a transfer: opens a channel to the sender, asks for the file from the
//! last byte stored, writes it to `<profile>/transfers/<id>.part` through a bounded queue, and
//! moves it into the download folder only once its SHA-256 matches the offer.
//!
//! Everything a sender sends is checked: data must start exactly where the last frame ended
//! and may not run past the offered size. A violation stops this run (the transfer is retried
//! from the last durable byte); it never writes anywhere but the `.part` file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::safe_name::{check_folder_writable, reserve_unique};
use super::wire::{Control, Frame, CHANNEL_LABEL};
use super::{Inner, Outcome, Rate, Stop};
use crate::events::CoreEvent;
use parley_history::{Direction, TransferRecord, TransferState};
use parley_peer::{PeerId, PeerManager};

/// Data frames queued for the writer (about 4 MiB); when full, the channel is not read and the
/// sender is held back by SCTP's receive window.
const WRITE_QUEUE: usize = 64;
/// Bytes written between flushes to disk (each flush is acknowledged to the sender and is a
/// point a resume can start from).
const SYNC_EVERY: u64 = 16 * 1024 * 1024;
/// ...or this long, whichever comes first: on a slow link 16 MiB can take minutes, and both
/// the progress shown and the point a resume starts from move only with flushes.
const SYNC_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// How long the sender has to answer a request before this run counts as interrupted.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// What the writer thread reports.
enum Written {
    /// Bytes before this offset are on disk, flushed.
    Durable(u64),
    /// Writing failed.
    Failed(std::io::Error),
}

pub(super) async fn receive(
    inner: &Arc<Inner>,
    record: TransferRecord,
    manager: &PeerManager,
    peer: &PeerId,
    mut stop: watch::Receiver<Option<Stop>>,
) -> Outcome {
    let settings = inner.settings.lock().clone();
    let downloads = settings.download_folder();
    if settings.downloads.is_none() {
        let _ = std::fs::create_dir_all(&downloads);
    }
    if let Err(e) = check_folder_writable(&downloads) {
        warn!(error = %e, "download folder unusable: paused");
        inner.emit(CoreEvent::Error {
            code: "downloads_unavailable".into(),
            message: e.to_string(),
        });
        return Outcome::Paused("downloads_unavailable");
    }
    let size = record.file.size;
    let part = inner.part_path(&record.id);
    if let Some(outcome) = placed_earlier(&part, &record).await {
        return outcome;
    }
    let opened = {
        let (part, parts) = (part.clone(), inner.parts.clone());
        let done = record.file.bytes_done;
        tokio::task::spawn_blocking(move || open_part(&parts, &part, done))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
    };
    let (file, hasher, start) = match opened {
        Ok(opened) => opened,
        Err(e) => return write_failure(inner, e),
    };
    if let Err(e) = inner
        .set_state(
            &record.conversation_id,
            &record.id,
            Direction::Incoming,
            &[TransferState::Waiting],
            TransferState::Transferring,
            None,
        )
        .await
    {
        debug!(error = %e, "state not recorded");
    }
    let resumed_from = (start > 0).then_some(start);
    inner.progress(&record, start, 0, resumed_from);

    let (hasher, written) = if start == size {
        (hasher, start)
    } else {
        let channel = match manager.open_channel(peer, CHANNEL_LABEL).await {
            Ok(c) => c,
            Err(e) => return Outcome::Interrupted(format!("no transfer channel: {e}")),
        };
        let fetch = crate::chat::file_fetch_frame(&record.id, start, channel.id());
        if let Err(e) = manager.send(peer, fetch).await {
            return Outcome::Interrupted(format!("request not sent: {e}"));
        }
        info!(offset = start, size, "receiving");
        let (data_tx, data_rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
        let (written_tx, mut written_rx) = mpsc::unbounded_channel();
        let writer = tokio::task::spawn_blocking(move || write_loop(file, hasher, start, data_rx, written_tx));
        let mut expected = start;
        let mut rate = Rate::new(start);
        let mut data_tx = Some(data_tx);
        // An honest sender answers at once (data or an error); silence means the request was
        // lost with its connection.
        let mut heard = false;
        let answer_deadline = tokio::time::sleep(ANSWER_TIMEOUT);
        tokio::pin!(answer_deadline);
        let interrupted = loop {
            tokio::select! {
                () = &mut answer_deadline, if !heard => {
                    break Some(Outcome::Interrupted("no answer from the sender".into()));
                }
                message = channel.recv(), if data_tx.is_some() => {
                    let Some(message) = message else {
                        break Some(Outcome::Interrupted("channel closed".into()));
                    };
                    heard = true;
                    match Frame::decode(&message) {
                        Ok(Frame::Data { offset, bytes }) => {
                            let end = expected + bytes.len() as u64;
                            if offset != expected || end > size {
                                warn!(offset, expected, len = bytes.len(), size, "data not where it was asked for: refused");
                                let _ = channel.send_text(&Control::error("protocol").encode()).await;
                                break Some(Outcome::RetryLater("protocol".into()));
                            }
                            expected = end;
                            let tx = data_tx.as_ref().expect("checked by the select guard");
                            if tx.send(bytes).await.is_err() {
                                // The writer failed; its report says why.
                                data_tx = None;
                                continue;
                            }
                            if expected == size {
                                data_tx = None; // the writer finishes and flushes
                            }
                        }
                        Ok(Frame::Control(Control::Error { code })) => {
                            info!(%code, "the sender stopped");
                            break Some(match code.as_str() {
                                "source_changed" | "source_missing" => Outcome::Failed { code, tell: false },
                                "busy" => Outcome::RetryLater(code),
                                _ => Outcome::Interrupted(code),
                            });
                        }
                        Ok(Frame::Control(Control::Cancel)) => {
                            info!("the sender cancelled");
                            break Some(Outcome::Cancelled);
                        }
                        Ok(other) => {
                            warn!(?other, "unexpected frame from the sender: refused");
                            let _ = channel.send_text(&Control::error("protocol").encode()).await;
                            break Some(Outcome::RetryLater("protocol".into()));
                        }
                        Err(e) => {
                            warn!(error = %e, "malformed frame from the sender: refused");
                            let _ = channel.send_text(&Control::error("protocol").encode()).await;
                            break Some(Outcome::RetryLater("protocol".into()));
                        }
                    }
                }
                report = written_rx.recv() => match report {
                    Some(Written::Durable(at)) => {
                        let _ = channel.send_text(&Control::Ack { offset: at }.encode()).await;
                        if let Err(e) = inner.history.set_transfer_progress(&record.id, at).await {
                            debug!(error = %e, "progress not recorded");
                        }
                        inner.progress(&record, at, rate.update(at), resumed_from);
                    }
                    Some(Written::Failed(e)) => {
                        let outcome = write_failure(inner, e);
                        let code = match &outcome {
                            Outcome::Paused(code) => code,
                            _ => "write_failed",
                        };
                        let _ = channel.send_text(&Control::error(code).encode()).await;
                        break Some(outcome);
                    }
                    // The writer is done: everything arrived and is flushed.
                    None => break None,
                },
                _ = stop.changed() => {
                    let why = *stop.borrow();
                    break Some(match why {
                        Some(Stop::Cancelled) => {
                            let _ = channel.send_text(&Control::Cancel.encode()).await;
                            Outcome::Cancelled
                        }
                        Some(Stop::CancelledThere) => Outcome::Cancelled,
                        _ => Outcome::Stopped,
                    });
                }
            }
        };
        drop(data_tx);
        let result = writer.await;
        channel.close().await;
        if let Some(outcome) = interrupted {
            return outcome;
        }
        match result {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return write_failure(inner, e),
            Err(e) => return Outcome::Interrupted(format!("writer: {e}")),
        }
    };
    if written != size {
        return Outcome::Interrupted(format!("{written} of {size} bytes"));
    }
    let sha256 = hex::encode(hasher.finalize());
    if sha256 != record.file.sha256 {
        warn!(expected = %record.file.sha256, got = %sha256, "the file does not match its hash");
        return Outcome::Failed {
            code: "hash_mismatch".into(),
            tell: true,
        };
    }
    let (name, earlier) = (record.file.name.clone(), record.placing.clone().map(PathBuf::from));
    let target = match tokio::task::spawn_blocking(move || reserve_target(&downloads, &name, earlier.as_deref())).await
    {
        Ok(Ok(target)) => target,
        Ok(Err(e)) => return write_failure(inner, e),
        Err(e) => return Outcome::Interrupted(format!("reserve: {e}")),
    };
    // Recorded before the move: a restart between the move and `complete` then finds the file
    // in place instead of a transfer with neither a `.part` nor a record of where it went.
    if let Err(e) = inner
        .history
        .set_transfer_placing(&record.id, &target.display().to_string())
        .await
    {
        warn!(error = %e, "where the file goes was not recorded");
    }
    #[cfg(feature = "test-utils")]
    if inner.crashes_at(super::CrashPoint::BeforeMove) {
        return dead_until_stopped(stop).await;
    }
    let moved = tokio::task::spawn_blocking(move || move_into(&part, &target).map(|()| target)).await;
    #[cfg(feature = "test-utils")]
    if matches!(moved, Ok(Ok(_))) && inner.crashes_at(super::CrashPoint::AfterMove) {
        return dead_until_stopped(stop).await;
    }
    match moved {
        Ok(Ok(path)) => Outcome::Saved(path),
        Ok(Err(e)) => write_failure(inner, e),
        Err(e) => Outcome::Interrupted(format!("move: {e}")),
    }
}

/// A run "killed" at a [`super::CrashPoint`]: does nothing more, records nothing, and holds
/// its place (so it is not started again) until the session ends, as a dead process would.
#[cfg(feature = "test-utils")]
async fn dead_until_stopped(mut stop: watch::Receiver<Option<Stop>>) -> Outcome {
    while stop.borrow().is_none() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    Outcome::Stopped
}

/// A run before this one verified the file and began moving it to `placed`, then stopped
/// (the app was closed or killed) before recording it complete. With the `.part` still there
/// the move did not happen and this run goes on as usual (reusing the reserved name); without
/// it, the file is `placed` if it has the offered size and hash: Saved, not received again.
async fn placed_earlier(part: &Path, record: &TransferRecord) -> Option<Outcome> {
    let placed = PathBuf::from(record.placing.as_deref()?);
    let (part, size, sha256) = (part.to_owned(), record.file.size, record.file.sha256.clone());
    let found = tokio::task::spawn_blocking(move || -> std::io::Result<Option<PathBuf>> {
        if part.exists() || std::fs::metadata(&placed)?.len() != size {
            return Ok(None);
        }
        let mut hasher = Sha256::new();
        std::io::copy(&mut File::open(&placed)?, &mut hasher)?;
        Ok((hex::encode(hasher.finalize()) == sha256).then_some(placed))
    })
    .await;
    match found {
        Ok(Ok(Some(placed))) => {
            info!(path = %placed.display(), "the file was moved into place before a restart: complete");
            Some(Outcome::Saved(placed))
        }
        Ok(Ok(None)) => None,
        Ok(Err(e)) => {
            debug!(error = %e, "the file reserved earlier is not there: received again");
            None
        }
        Err(e) => Some(Outcome::Interrupted(format!("check: {e}"))),
    }
}

/// A failed write pauses the transfer with what the person must do.
fn write_failure(inner: &Inner, e: std::io::Error) -> Outcome {
    let (code, message) = if e.kind() == std::io::ErrorKind::StorageFull {
        (
            "disk_full",
            "The disk is full: the file is paused with what has arrived so far. Free some space, then choose Resume.",
        )
    } else {
        (
            "downloads_unavailable",
            "A received file could not be written; check the download folder in Settings, then choose Resume.",
        )
    };
    warn!(error = %e, code, "writing a received file failed: paused");
    inner.emit(CoreEvent::Error {
        code: code.into(),
        message: format!("{message} ({e})"),
    });
    Outcome::Paused(code)
}

/// Opens the partial file, cut back to the last byte known to be flushed (anything after it
/// may be torn), and hashes what is kept.
fn open_part(parts: &Path, part: &Path, durable: u64) -> std::io::Result<(File, Sha256, u64)> {
    std::fs::create_dir_all(parts)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(part)?;
    let len = file.metadata()?.len();
    let start = durable.min(len);
    file.set_len(start)?;
    let mut hasher = Sha256::new();
    file.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut (&mut file).take(start), &mut hasher)?;
    file.seek(SeekFrom::Start(start))?;
    Ok((file, hasher, start))
}

/// The writer thread: appends and hashes; every [`SYNC_EVERY`] bytes (or [`SYNC_AFTER`]) a flush to disk runs on a
/// second thread while writing goes on (a flush can take hundreds of milliseconds on a slow
/// disk, and a writer waiting for it would stall the whole connection), and each flush that
/// completes is reported durable. A final flush at the end, before the last report.
fn write_loop(
    mut file: File,
    mut hasher: Sha256,
    start: u64,
    mut data: mpsc::Receiver<Bytes>,
    written: mpsc::UnboundedSender<Written>,
) -> std::io::Result<(Sha256, u64)> {
    let fail = |e: std::io::Error, written: &mpsc::UnboundedSender<Written>| {
        let _ = written.send(Written::Failed(std::io::Error::new(e.kind(), e.to_string())));
        e
    };
    let flusher = file.try_clone().map_err(|e| fail(e, &written))?;
    // One flush running and none queued: a request while one runs is simply skipped.
    let (flush_tx, flush_rx) = std::sync::mpsc::sync_channel::<u64>(0);
    let reports = written.clone();
    let syncer = std::thread::spawn(move || {
        for at in flush_rx {
            match flusher.sync_data() {
                Ok(()) => {
                    let _ = reports.send(Written::Durable(at));
                }
                Err(e) => {
                    let _ = reports.send(Written::Failed(e));
                    return;
                }
            }
        }
    });
    let mut at = start;
    let mut requested = start;
    let mut requested_when = std::time::Instant::now();
    let result: std::io::Result<()> = (|| {
        while let Some(bytes) = data.blocking_recv() {
            file.write_all(&bytes).map_err(|e| fail(e, &written))?;
            hasher.update(&bytes);
            at += bytes.len() as u64;
            let due = at - requested >= SYNC_EVERY || requested_when.elapsed() >= SYNC_AFTER;
            if due && flush_tx.try_send(at).is_ok() {
                requested = at;
                requested_when = std::time::Instant::now();
            }
        }
        Ok(())
    })();
    drop(flush_tx);
    let _ = syncer.join();
    result?;
    file.sync_data().map_err(|e| fail(e, &written))?;
    let _ = written.send(Written::Durable(at));
    Ok((hasher, at))
}

/// A name in the download folder nobody else has: the one an earlier run reserved if it is
/// still our empty placeholder, else a new one.
fn reserve_target(downloads: &Path, name: &str, earlier: Option<&Path>) -> std::io::Result<PathBuf> {
    if let Some(earlier) = earlier {
        let placeholder = std::fs::symlink_metadata(earlier).is_ok_and(|m| m.is_file() && m.len() == 0);
        if placeholder {
            return Ok(earlier.to_owned());
        }
    }
    reserve_unique(downloads, name)
}

/// Moves the verified file over its reserved name; on failure the name is given back.
fn move_into(part: &Path, target: &Path) -> std::io::Result<()> {
    match std::fs::rename(part, target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            // Another disk: copy into the reserved name, flush, then drop the partial file.
            let copied = (|| {
                std::io::copy(
                    &mut File::open(part)?,
                    &mut OpenOptions::new().write(true).open(target)?,
                )?;
                File::open(target)?.sync_all()
            })();
            match copied {
                Ok(()) => {
                    let _ = std::fs::remove_file(part);
                    Ok(())
                }
                Err(e) => {
                    let _ = std::fs::remove_file(target);
                    Err(e)
                }
            }
        }
        Err(e) => {
            let _ = std::fs::remove_file(target);
            Err(e)
        }
    }
}
