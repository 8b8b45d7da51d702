//! The sending side of a transfer: answers one request on a channel the receiver opened,
//! streaming the file from disk from the requested offset. Memory stays flat: a reader thread
//! fills a small queue, and the send loop waits whenever the channel holds more than
//! [`HIGH_WATER`] bytes not yet acknowledged by the remote's SCTP stack.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::offer::stamp;
use super::wire::{Control, Frame, CHANNEL_LABEL, CHUNK};
use super::{Inner, Outcome, Rate, Stop};
use parley_history::{Direction, TransferRecord, TransferState};
use parley_peer::{Channel, PeerId, PeerManager};
use parley_protocol::User;

/// Bytes queued on the channel before the sender waits. Small enough that a chat message
/// queued behind file data on the shared connection waits milliseconds, large enough to keep
/// a fast path full.
const HIGH_WATER: usize = 1024 * 1024;
/// Wake the sender when the queue drains to this.
const LOW_WATER: u32 = 512 * 1024;
/// Blocks read ahead of the network.
const READ_AHEAD: usize = 16;
/// How long a refusal waits for the receiver to close the channel.
const REFUSAL_LINGER: Duration = Duration::from_secs(5);

/// A `file-fetch` from the receiver.
pub(super) struct Request {
    pub(super) user: User,
    pub(super) manager: PeerManager,
    pub(super) peer: PeerId,
    pub(super) target: String,
    pub(super) offset: u64,
    pub(super) channel: u16,
}

pub(super) async fn serve(inner: Arc<Inner>, request: Request) {
    let Request {
        user,
        manager,
        peer,
        target: id,
        offset,
        channel,
    } = request;
    let channel = match manager.join_channel(&peer, channel, CHANNEL_LABEL).await {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "cannot join the receiver's transfer channel: request ignored");
            return;
        }
    };
    let record = match inner.history.transfer(&id).await {
        Ok(Some(r))
            if r.conversation_id == user.id && r.direction == Direction::Outgoing && !r.file.state.is_final() =>
        {
            r
        }
        Ok(_) => {
            warn!("request for a file not offered to this person (or finished): refused");
            refuse(&channel, "unknown_transfer").await;
            return;
        }
        Err(e) => {
            warn!(error = %e, "could not read a transfer");
            refuse(&channel, "unknown_transfer").await;
            return;
        }
    };
    if offset > record.file.size {
        warn!(
            offset,
            size = record.file.size,
            "request past the end of the file: refused"
        );
        refuse(&channel, "protocol").await;
        return;
    }
    if let Err(code) = check_source(&record) {
        warn!(code, "the offered file changed or vanished");
        refuse(&channel, code).await;
        inner
            .finish(
                &record,
                Outcome::Failed {
                    code: code.to_owned(),
                    tell: true,
                },
            )
            .await;
        return;
    }
    let Some(stop) = inner.start_sending(&user.id, &id).await else {
        refuse(&channel, "busy").await;
        return;
    };
    let _ = inner
        .set_state(
            &user.id,
            &id,
            Direction::Outgoing,
            &[
                TransferState::Waiting,
                TransferState::AwaitingAccept,
                TransferState::Transferring,
            ],
            TransferState::Transferring,
            None,
        )
        .await;
    info!(offset, size = record.file.size, "sending");
    let outcome = stream(&inner, &record, &channel, offset, stop).await;
    // Recorded before the run is forgotten, so that a run superseding this one never has its
    // state overwritten by this one's ending.
    inner.finish(&record, outcome).await;
    inner.running.lock().remove(&id);
}

/// Says why on the channel and leaves closing it to the receiver, so the reason is not cut
/// off by the close (the receiver closes when it reads an error).
async fn refuse(channel: &Channel, code: &str) {
    let _ = channel.send_text(&Control::error(code).encode()).await;
    let _ = tokio::time::timeout(REFUSAL_LINGER, async { while channel.recv().await.is_some() {} }).await;
    channel.close().await;
}

/// Whether the offered file is still the one that was offered.
fn check_source(record: &TransferRecord) -> Result<PathBuf, &'static str> {
    let path = PathBuf::from(record.file.path.as_deref().ok_or("source_missing")?);
    let meta = std::fs::metadata(&path).map_err(|_| "source_missing")?;
    if Some(stamp(&meta)) != record.source_stamp {
        return Err("source_changed");
    }
    Ok(path)
}

async fn stream(
    inner: &Arc<Inner>,
    record: &TransferRecord,
    channel: &Channel,
    offset: u64,
    mut stop: watch::Receiver<Option<Stop>>,
) -> Outcome {
    let size = record.file.size;
    let path = match check_source(record) {
        Ok(p) => p,
        Err(code) => {
            refuse(channel, code).await;
            return Outcome::Failed {
                code: code.to_owned(),
                tell: true,
            };
        }
    };
    let (blocks_tx, blocks) = mpsc::channel(READ_AHEAD);
    let reader = tokio::task::spawn_blocking(move || read_blocks(&path, offset, size, blocks_tx));
    let _ = channel.set_low_water(LOW_WATER).await;
    // Sending runs as its own task so acknowledgements are read while it waits on the queue.
    let sender = {
        let channel = channel.clone();
        tokio::spawn(send_blocks(channel, blocks))
    };
    let mut sender = std::pin::pin!(sender);
    let mut sent_all = false;
    let mut acked = offset;
    let mut rate = Rate::new(offset);
    let resumed_from = (offset > 0).then_some(offset);
    let outcome = loop {
        tokio::select! {
            result = &mut sender, if !sent_all => match result {
                Ok(Ok(())) => {
                    sent_all = true;
                    if size == 0 {
                        break Outcome::AllAcknowledged;
                    }
                }
                Ok(Err(code)) => {
                    if code == "source_changed" {
                        let _ = channel.send_text(&Control::error(code).encode()).await;
                        break Outcome::Failed { code: code.to_owned(), tell: true };
                    }
                    break Outcome::Interrupted(code.to_owned());
                }
                Err(e) => break Outcome::Interrupted(format!("send task: {e}")),
            },
            message = channel.recv() => {
                let Some(message) = message else {
                    break Outcome::Interrupted("channel closed".into());
                };
                match Frame::decode(&message) {
                    Ok(Frame::Control(Control::Ack { offset: at })) if at >= acked && at <= size => {
                        acked = at;
                        let per_sec = rate.update(at);
                        inner.progress(record, at, per_sec, resumed_from);
                        if let Err(e) = inner.history.set_transfer_progress(&record.id, at).await {
                            debug!(error = %e, "progress not recorded");
                        }
                        if at == size {
                            break Outcome::AllAcknowledged;
                        }
                    }
                    Ok(Frame::Control(Control::Cancel)) => {
                        info!("the receiver cancelled");
                        break Outcome::Cancelled;
                    }
                    Ok(Frame::Control(Control::Error { code })) => {
                        info!(%code, "the receiver stopped");
                        break Outcome::Interrupted(code);
                    }
                    other => {
                        warn!(?other, "unexpected frame from the receiver: transfer stopped");
                        let _ = channel.send_text(&Control::error("protocol").encode()).await;
                        break Outcome::Interrupted("protocol".into());
                    }
                }
            }
            _ = stop.changed() => {
                let why = *stop.borrow();
                match why {
                    Some(Stop::Cancelled) => {
                        let _ = channel.send_text(&Control::Cancel.encode()).await;
                        break Outcome::Cancelled;
                    }
                    Some(Stop::CancelledThere) => break Outcome::Cancelled,
                    _ => break Outcome::Stopped,
                }
            }
        }
    };
    if !sent_all {
        sender.abort();
    }
    drop(reader);
    channel.close().await;
    outcome
}

/// Reads the file from `offset` into ready-made data frames (header in place, so nothing is
/// copied again). Ends early, with an error, if the file turns out shorter than offered.
fn read_blocks(path: &PathBuf, offset: u64, size: u64, blocks: mpsc::Sender<Result<BytesMut, &'static str>>) {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(_) => {
            let _ = blocks.blocking_send(Err("source_missing"));
            return;
        }
    };
    if let Err(e) = file.seek(SeekFrom::Start(offset)) {
        warn!(error = %e, "cannot seek in the file");
        let _ = blocks.blocking_send(Err("source_changed"));
        return;
    }
    let mut at = offset;
    while at < size {
        let want = CHUNK.min((size - at) as usize);
        let mut frame = BytesMut::with_capacity(8 + want);
        frame.put_u64(at);
        frame.resize(8 + want, 0);
        if let Err(e) = file.read_exact(&mut frame[8..]) {
            warn!(error = %e, "the file is shorter than offered");
            let _ = blocks.blocking_send(Err("source_changed"));
            return;
        }
        at += want as u64;
        if blocks.blocking_send(Ok(frame)).is_err() {
            return; // the transfer stopped
        }
    }
}

async fn send_blocks(
    channel: Channel,
    mut blocks: mpsc::Receiver<Result<BytesMut, &'static str>>,
) -> Result<(), &'static str> {
    while let Some(block) = blocks.recv().await {
        let frame = block?;
        channel
            .wait_buffered_below(HIGH_WATER)
            .await
            .map_err(|_| "channel closed")?;
        channel.send(frame.freeze()).await.map_err(|_| "channel closed")?;
    }
    Ok(())
}
