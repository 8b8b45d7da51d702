//! A connection's one device of a kind opened in Rust (the microphone captured, the speaker
//! played to): at most one at a time, numbered (a replaced one's last doings are told apart by
//! its number), opened one at a time in the order asked, so the one asked for last is the one
//! left; none is taken once the connection closed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) struct Slot<T> {
    current: Mutex<Option<(u64, T)>>,
    opened: AtomicU64,
    opening: tokio::sync::Mutex<()>,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Slot<T> {
        Slot {
            current: Mutex::new(None),
            opened: AtomicU64::new(0),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> MutexGuard<'_, Option<(u64, T)>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Held while one opens: the next waits for it.
    pub(crate) async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.opening.lock().await
    }

    /// The number of the one in use, if one is.
    pub(crate) fn number(&self) -> Option<u64> {
        self.current().as_ref().map(|(n, _)| *n)
    }

    /// `f` of the one in use (none: `None`), with the slot locked: nothing replaces it meanwhile.
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        f(self.current().as_ref().map(|(_, item)| item))
    }

    /// Puts `item` in use (the one before is dropped) after `before` saw it, with the slot
    /// locked, and gives its number; none, and `item` is dropped, when the connection closed
    /// meanwhile (`closed` is set before the slot is emptied).
    pub(crate) fn install(&self, item: T, closed: &AtomicBool, before: impl FnOnce(&T)) -> Option<u64> {
        let mut current = self.current();
        if closed.load(Ordering::SeqCst) {
            return None;
        }
        before(&item);
        let number = self.opened.fetch_add(1, Ordering::SeqCst) + 1;
        let old = current.replace((number, item));
        drop(current);
        drop(old);
        Some(number)
    }

    /// Drops the one in use, if any.
    pub(crate) fn stop(&self) {
        let old = self.current().take();
        drop(old);
    }

    /// Drops number `number` if it is still the one in use; says whether it was.
    pub(crate) fn stop_if(&self, number: u64) -> bool {
        let mut current = self.current();
        if current.as_ref().is_some_and(|(n, _)| *n == number) {
            let old = current.take();
            drop(current);
            drop(old);
            return true;
        }
        false
    }
}
