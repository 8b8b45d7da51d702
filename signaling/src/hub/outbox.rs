//! A connection's outgoing frames.
//!
//! A `VecDeque` behind a mutex plus a `Notify` costs ~100 bytes per idle connection and
//! allocates nothing until a frame is queued — a tokio mpsc channel allocates a 32-slot block up
//! front, which at 20k idle connections is most of the memory budget.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The consumer fell `capacity` frames behind: it is stuck or too slow, and holding more
    /// would let one bad client eat the server's memory.
    Overflow,
    /// The session's token was signed out.
    SignedOut,
    /// The server is stopping.
    Shutdown,
}

#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<VecDeque<Utf8Bytes>>,
    notify: Notify,
    closed: Mutex<Option<CloseReason>>,
    is_closed: AtomicBool,
    capacity: usize,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Outbox {
            queue: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            closed: Mutex::new(None),
            is_closed: AtomicBool::new(false),
            capacity,
        }
    }

    /// Queues a frame; false when the outbox is closed (the frame is dropped with it).
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        if self.is_closed.load(Ordering::Acquire) {
            return false;
        }
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= self.capacity {
            drop(queue);
            self.close(CloseReason::Overflow);
            return false;
        }
        let was_empty = queue.is_empty();
        queue.push_back(frame);
        drop(queue);
        // A non-empty queue already has a wake-up pending.
        if was_empty {
            self.notify.notify_one();
        }
        true
    }

    pub fn close(&self, reason: CloseReason) {
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        if closed.is_none() {
            *closed = Some(reason);
            self.is_closed.store(true, Ordering::Release);
            self.notify.notify_one();
        }
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves when frames are queued or the outbox is closed. A wake-up that arrives while
    /// nobody waits is kept for the next waiter, so nothing queued is ever missed.
    pub fn woken(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// Takes every queued frame, queue allocation included: an idle connection then holds no
    /// buffer from its last burst (a fresh one costs one small allocation per burst).
    pub fn take(&self) -> VecDeque<Utf8Bytes> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_once_per_batch_and_keeps_order() {
        let outbox = Outbox::new(10);
        assert!(outbox.push("a".into()));
        assert!(outbox.push("b".into()));
        outbox.woken().await;
        let got: Vec<_> = outbox.take().into_iter().collect();
        assert_eq!(got, vec![Utf8Bytes::from("a"), Utf8Bytes::from("b")]);
        assert!(outbox.take().is_empty());
    }

    #[tokio::test]
    async fn overflow_closes() {
        let outbox = Outbox::new(2);
        assert!(outbox.push("1".into()));
        assert!(outbox.push("2".into()));
        assert!(!outbox.push("3".into()));
        assert_eq!(outbox.close_reason(), Some(CloseReason::Overflow));
        assert!(!outbox.push("4".into()));
        outbox.woken().await;
    }
}
