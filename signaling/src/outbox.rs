//! A connection's outgoing frames, shared by the v1 and PeerJS endpoints.
//!
//! Other connections' tasks push; the owning task takes the whole queue at once and writes it
//! with one flush. A `VecDeque` behind a mutex plus a `Notify` costs nothing while idle and
//! allocates only while frames wait — a tokio mpsc channel allocates a 32-slot block up front,
//! which at 20k idle connections is most of the memory budget.

use parking_lot::Mutex;
use std::collections::VecDeque;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// Why an endpoint asks a connection to close; `OVERFLOW` is the reason a full queue gives.
pub trait CloseCause: Copy {
    /// The consumer is stuck or too slow: holding more would let one bad client eat the
    /// server's memory.
    const OVERFLOW: Self;
}

/// How much may wait for one connection before it counts as stuck.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    pub frames: usize,
    pub bytes: usize,
}

#[derive(Debug)]
pub struct Outbox<R> {
    state: Mutex<State<R>>,
    wake: Notify,
}

#[derive(Debug)]
struct State<R> {
    frames: VecDeque<Utf8Bytes>,
    bytes: usize,
    closing: Option<R>,
}

impl<R> Default for Outbox<R> {
    fn default() -> Self {
        Outbox {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                bytes: 0,
                closing: None,
            }),
            wake: Notify::new(),
        }
    }
}

impl<R: CloseCause> Outbox<R> {
    /// Queues a frame; false when the connection is closing (or just started to because the
    /// queue is full) and the frame was dropped.
    pub fn push(&self, frame: Utf8Bytes, limits: &QueueLimits) -> bool {
        let mut state = self.state.lock();
        if state.closing.is_some() {
            return false;
        }
        if state.frames.len() >= limits.frames || state.bytes + frame.len() > limits.bytes {
            state.closing = Some(R::OVERFLOW);
            // Nobody will ever write these; free them now rather than when the task notices.
            state.frames = VecDeque::new();
            state.bytes = 0;
            drop(state);
            self.wake.notify_one();
            return false;
        }
        // The task takes the whole queue at once, so only the push that makes it non-empty
        // needs to wake it.
        let was_empty = state.frames.is_empty();
        state.bytes += frame.len();
        state.frames.push_back(frame);
        drop(state);
        if was_empty {
            self.wake.notify_one();
        }
        true
    }

    /// Everything queued so far — the allocation included, so an idle connection keeps no buffer
    /// from its last burst — and whether the connection was asked to close.
    pub fn take(&self) -> (VecDeque<Utf8Bytes>, Option<R>) {
        let mut state = self.state.lock();
        state.bytes = 0;
        (std::mem::take(&mut state.frames), state.closing)
    }

    /// Appends frames without limit checks, for a connection still being admitted that nobody
    /// else can reach yet: what waited for it was already bounded where it waited.
    pub fn fill(&self, frames: impl IntoIterator<Item = Utf8Bytes>) {
        let mut state = self.state.lock();
        for frame in frames {
            state.bytes += frame.len();
            state.frames.push_back(frame);
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Asks the owning task to close and hands over what it had not written yet, in one step,
    /// so no frame is both handed over and written.
    pub fn close_and_take(&self, reason: R) -> VecDeque<Utf8Bytes> {
        let mut state = self.state.lock();
        state.closing.get_or_insert(reason);
        state.bytes = 0;
        let frames = std::mem::take(&mut state.frames);
        drop(state);
        self.wake.notify_one();
        frames
    }

    /// Asks the owning task to close; the first reason given sticks.
    pub fn close(&self, reason: R) {
        self.state.lock().closing.get_or_insert(reason);
        self.wake.notify_one();
    }

    pub fn closing(&self) -> Option<R> {
        self.state.lock().closing
    }

    /// Resolves once something was pushed or a close was requested since the last `take`. A
    /// wake-up that arrives while nobody waits is kept for the next waiter.
    pub fn woken(&self) -> Notified<'_> {
        self.wake.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Reason {
        Full,
        Asked,
    }

    impl CloseCause for Reason {
        const OVERFLOW: Self = Reason::Full;
    }

    const ROOMY: QueueLimits = QueueLimits {
        frames: 10,
        bytes: 1000,
    };

    #[tokio::test]
    async fn wakes_once_per_batch_and_keeps_order() {
        let outbox = Outbox::<Reason>::default();
        assert!(outbox.push("a".into(), &ROOMY));
        assert!(outbox.push("b".into(), &ROOMY));
        outbox.woken().await;
        let (frames, closing) = outbox.take();
        assert_eq!(Vec::from(frames), vec![Utf8Bytes::from("a"), Utf8Bytes::from("b")]);
        assert_eq!(closing, None);
        assert!(outbox.take().0.is_empty());
    }

    #[tokio::test]
    async fn overflow_by_frames_or_bytes_closes_and_drops_the_queue() {
        let outbox = Outbox::<Reason>::default();
        let two_frames = QueueLimits { frames: 2, bytes: 1000 };
        assert!(outbox.push("1".into(), &two_frames));
        assert!(outbox.push("2".into(), &two_frames));
        assert!(!outbox.push("3".into(), &two_frames));
        assert_eq!(outbox.take(), (VecDeque::new(), Some(Reason::Full)));
        assert!(!outbox.push("4".into(), &ROOMY), "a closing outbox takes nothing more");
        outbox.woken().await;

        let outbox = Outbox::<Reason>::default();
        let five_bytes = QueueLimits { frames: 10, bytes: 5 };
        assert!(outbox.push("abc".into(), &five_bytes));
        assert!(!outbox.push("def".into(), &five_bytes));
        assert_eq!(outbox.closing(), Some(Reason::Full));
    }

    #[test]
    fn frames_move_between_outboxes_on_hand_over() {
        let old = Outbox::<Reason>::default();
        assert!(old.push("unwritten".into(), &ROOMY));
        let new = Outbox::<Reason>::default();
        new.fill(std::iter::once("open".into()).chain(old.close_and_take(Reason::Asked)));
        assert_eq!(old.take(), (VecDeque::new(), Some(Reason::Asked)));
        let (frames, closing) = new.take();
        assert_eq!(
            Vec::from(frames),
            vec![Utf8Bytes::from("open"), Utf8Bytes::from("unwritten")]
        );
        assert_eq!(closing, None);
    }

    #[test]
    fn the_first_close_reason_sticks() {
        let outbox = Outbox::<Reason>::default();
        outbox.close(Reason::Asked);
        outbox.close(Reason::Full);
        assert_eq!(outbox.closing(), Some(Reason::Asked));
    }
}
