//! Extra data channels beside the chat channel, on the same proven connection: one per running
//! file transfer, so chat stays responsive while a file moves. One side opens one with
//! [`crate::PeerManager::open_channel`] and tells the other its id, which joins it with
//! [`crate::PeerManager::join_channel`].
//!
//! All channels of a connection share one SCTP association, so a reader that stops reading
//! holds up the whole connection: webrtc-rs stops reading the network once one channel's queue
//! is full, which is the receive-side back-pressure a bounded file writer relies on.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, Notify};
use tracing::{debug, Instrument, Span};
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use super::{PeerError, PeerId, MAX_FRAME_LEN};

/// Messages held between the connection and a slow reader before the connection stops reading.
const QUEUE: usize = 16;
/// The longest [`Channel::close`] waits for what was sent to reach the remote.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How long a channel we open may take to be acknowledged by the remote.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// One message as the remote sent it (untrusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage {
    /// The payload.
    pub data: Bytes,
    /// Sent as text (a UTF-8 string) rather than binary.
    pub text: bool,
}

/// A reliable ordered data channel to one remote, beside its chat channel. Cheap to clone;
/// closed when the last clone is dropped, when either side closes it, or with its connection.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<ChannelInner>,
}

struct ChannelInner {
    dc: Arc<dyn DataChannel>,
    id: u16,
    label: String,
    peer: PeerId,
    incoming: tokio::sync::Mutex<mpsc::Receiver<ChannelMessage>>,
    state: Arc<PumpState>,
}

#[derive(Default)]
struct PumpState {
    opened: AtomicBool,
    closed: AtomicBool,
    /// Woken on open, on close, and whenever the buffered amount falls below the low mark.
    changed: Notify,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("peer", &self.inner.peer)
            .field("label", &self.inner.label)
            .finish()
    }
}

/// The same channel, not an equal one.
impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl Eq for Channel {}

impl Channel {
    /// Wraps `dc` and starts draining its events. `opened` when it is open already (a
    /// negotiated channel on a connected association opens at once, with no open event).
    pub(crate) fn start(
        dc: Arc<dyn DataChannel>,
        id: u16,
        label: String,
        peer: PeerId,
        opened: bool,
        span: Span,
    ) -> Channel {
        let (tx, rx) = mpsc::channel(QUEUE);
        let state = Arc::new(PumpState {
            opened: AtomicBool::new(opened),
            ..PumpState::default()
        });
        tokio::spawn(pump(dc.clone(), tx, state.clone()).instrument(span));
        Channel {
            inner: Arc::new(ChannelInner {
                dc,
                id,
                label,
                peer,
                incoming: tokio::sync::Mutex::new(rx),
                state,
            }),
        }
    }

    /// Its stream id (what the opener tells the remote).
    pub fn id(&self) -> u16 {
        self.inner.id
    }

    /// The label the opener gave it (says what the channel is for).
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// The remote peer.
    pub fn peer(&self) -> &PeerId {
        &self.inner.peer
    }

    /// Waits until the remote has acknowledged the channel; false if it closed first or took
    /// longer than `timeout`.
    pub(crate) async fn opened(&self, timeout: Duration) -> bool {
        let state = &self.inner.state;
        let wait = async {
            loop {
                let changed = state.changed.notified();
                if state.opened.load(Ordering::Acquire) {
                    return true;
                }
                if state.closed.load(Ordering::Acquire) {
                    return false;
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.unwrap_or(false)
    }

    /// The next message; None once the channel is closed, or its connection ended (webrtc-rs
    /// does not always report a channel closed when the connection under it goes away).
    pub async fn recv(&self) -> Option<ChannelMessage> {
        let mut incoming = self.inner.incoming.lock().await;
        let state = &self.inner.state;
        loop {
            let changed = state.changed.notified();
            if let Ok(message) = incoming.try_recv() {
                return Some(message);
            }
            if state.closed.load(Ordering::Acquire) {
                return None;
            }
            tokio::select! {
                message = incoming.recv() => return message,
                () = changed => {}
            }
        }
    }

    /// A handle the connection uses to end this channel when it ends itself.
    pub(crate) fn end_handle(&self) -> ChannelEnd {
        ChannelEnd(Arc::downgrade(&self.inner.state))
    }

    /// Sends a binary message (at most [`MAX_FRAME_LEN`] bytes).
    pub async fn send(&self, data: Bytes) -> Result<(), PeerError> {
        check_len(data.len())?;
        self.inner
            .dc
            .send(BytesMut::from(data))
            .await
            .map_err(|e| self.error(e))
    }

    /// Sends a text message (at most [`MAX_FRAME_LEN`] bytes).
    pub async fn send_text(&self, text: &str) -> Result<(), PeerError> {
        check_len(text.len())?;
        self.inner.dc.send_text(text).await.map_err(|e| self.error(e))
    }

    /// Sets the buffered amount under which [`Channel::wait_buffered_below`] wakes.
    pub async fn set_low_water(&self, bytes: u32) -> Result<(), PeerError> {
        self.inner
            .dc
            .set_buffered_amount_low_threshold(bytes)
            .await
            .map_err(|e| self.error(e))
    }

    /// Waits while more than `limit` bytes are queued or unacknowledged on this channel, so a
    /// bulk sender keeps the connection's shared queue short. Errors once the channel closed.
    pub async fn wait_buffered_below(&self, limit: usize) -> Result<(), PeerError> {
        let state = &self.inner.state;
        loop {
            let changed = state.changed.notified();
            if state.closed.load(Ordering::Acquire) {
                return Err(PeerError::NotOpen(self.inner.peer.clone()));
            }
            let outstanding = self.inner.dc.outstanding_bytes().await.map_err(|e| self.error(e))?;
            if outstanding <= limit {
                return Ok(());
            }
            // The low-water event can race with the check above; the timer is the backstop.
            let _ = tokio::time::timeout(Duration::from_millis(5), changed).await;
        }
    }

    /// Whether the channel has closed.
    pub fn is_closed(&self) -> bool {
        self.inner.state.closed.load(Ordering::Acquire)
    }

    /// Closes the channel once what was sent on it has reached the remote (at most
    /// [`CLOSE_LINGER`] later). Closed at once, webrtc-rs resets the stream while a last frame
    /// may still wait in its queue, and that frame (a refusal's reason, a cancel) is lost.
    pub async fn close(&self) {
        let _ = tokio::time::timeout(CLOSE_LINGER, self.wait_buffered_below(0)).await;
        if let Err(e) = self.inner.dc.close().await {
            debug!(label = %self.inner.label, error = %e, "channel close");
        }
    }

    fn error(&self, e: webrtc::error::Error) -> PeerError {
        match e {
            webrtc::error::Error::ErrDataChannelClosed => PeerError::NotOpen(self.inner.peer.clone()),
            e => PeerError::WebRtc(e),
        }
    }
}

fn check_len(len: usize) -> Result<(), PeerError> {
    if len > MAX_FRAME_LEN {
        return Err(PeerError::FrameTooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(())
}

impl Drop for ChannelInner {
    fn drop(&mut self) {
        if self.state.closed.load(Ordering::Acquire) {
            return;
        }
        let dc = self.dc.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = dc.close().await;
            });
        }
    }
}

/// Ends a channel from the connection's side, without keeping the channel alive.
pub(crate) struct ChannelEnd(std::sync::Weak<PumpState>);

impl ChannelEnd {
    /// Marks the channel closed: its reader gets None, a waiting sender an error.
    pub(crate) fn end(&self) {
        if let Some(state) = self.0.upgrade() {
            state.closed.store(true, Ordering::Release);
            state.changed.notify_waiters();
        }
    }

    pub(crate) fn is_gone(&self) -> bool {
        self.0.strong_count() == 0
    }
}

/// Drains the channel's events. Waiting on a full queue is deliberate: it stops the connection
/// reading, which is what makes a slow reader slow the sender down.
async fn pump(dc: Arc<dyn DataChannel>, tx: mpsc::Sender<ChannelMessage>, state: Arc<PumpState>) {
    while let Some(event) = dc.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                state.opened.store(true, Ordering::Release);
                state.changed.notify_waiters();
            }
            DataChannelEvent::OnMessage(msg) => {
                let message = ChannelMessage {
                    data: msg.data.freeze(),
                    text: msg.is_string,
                };
                if tx.send(message).await.is_err() {
                    break; // nobody reads any more
                }
            }
            DataChannelEvent::OnBufferedAmountLow => state.changed.notify_waiters(),
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    state.closed.store(true, Ordering::Release);
    state.changed.notify_waiters();
}
