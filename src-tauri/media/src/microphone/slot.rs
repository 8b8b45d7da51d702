//! A connection's microphone captured in Rust: at most one at a time, numbered (each has a
//! clock of its own for the RTP timestamps, and a replaced one's last packets are told apart by
//! it), with the mute state that outlives any one capture, and one open at a time in the order
//! asked, so the device asked for last is the one left.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Microphone, MicrophoneInfo};

pub(crate) struct MicrophoneSlot {
    current: Mutex<Option<(u64, Microphone)>>,
    opened: AtomicU64,
    /// Not muted. Kept here, not only in the capture: a mute while a capture opens applies to it.
    on: AtomicBool,
    opening: tokio::sync::Mutex<()>,
}

impl MicrophoneSlot {
    pub(crate) fn new() -> MicrophoneSlot {
        MicrophoneSlot {
            current: Mutex::new(None),
            opened: AtomicU64::new(0),
            on: AtomicBool::new(true),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> MutexGuard<'_, Option<(u64, Microphone)>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Held while a capture opens: the next waits for it.
    pub(crate) async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.opening.lock().await
    }

    /// The number of the capture in use, if one is.
    pub(crate) fn clock(&self) -> Option<u64> {
        self.current().as_ref().map(|(clock, _)| *clock)
    }

    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    /// Muted (false) or not, now and for a capture still opening.
    pub(crate) fn set_on(&self, on: bool) {
        let current = self.current();
        self.on.store(on, Ordering::SeqCst);
        if let Some((_, mic)) = current.as_ref() {
            mic.set_on(on);
        }
    }

    /// The capture in use, when it is of the source `label` names (its description or name).
    pub(crate) fn capturing(&self, label: &str) -> Option<MicrophoneInfo> {
        let label = label.trim();
        self.current()
            .as_ref()
            .map(|(_, mic)| mic.info())
            .filter(|info| info.description == label || info.source == label)
            .cloned()
    }

    /// Puts `mic` in use (the one before stops) and gives its number; none, and `mic` stops,
    /// when the connection closed meanwhile (`closed` is set before the slot is emptied).
    pub(crate) fn install(&self, mic: Microphone, closed: &AtomicBool) -> Option<u64> {
        let mut current = self.current();
        if closed.load(Ordering::SeqCst) {
            return None;
        }
        mic.set_on(self.is_on());
        let clock = self.opened.fetch_add(1, Ordering::SeqCst) + 1;
        let old = current.replace((clock, mic));
        drop(current);
        drop(old);
        Some(clock)
    }

    /// Stops the capture in use, if any.
    pub(crate) fn stop(&self) {
        let old = self.current().take();
        drop(old);
    }

    /// Stops capture number `clock` if it is still the one in use; says whether it was.
    pub(crate) fn stop_if(&self, clock: u64) -> bool {
        let mut current = self.current();
        if current.as_ref().is_some_and(|(c, _)| *c == clock) {
            let old = current.take();
            drop(current);
            drop(old);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A capture as the slot sees it, without a sound server.
    fn mic(source: &str, description: &str) -> (Microphone, Arc<AtomicBool>, Arc<AtomicBool>) {
        let (on, stop) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicBool::new(false)));
        let mic = Microphone {
            info: MicrophoneInfo {
                source: source.into(),
                description: description.into(),
                echo_cancelled: false,
            },
            on: on.clone(),
            stop: stop.clone(),
        };
        (mic, on, stop)
    }

    #[test]
    fn a_mute_while_a_capture_opens_applies_to_it() {
        let slot = MicrophoneSlot::new();
        let (m, on, _) = mic("alsa_input.a", "Built-in Audio");
        slot.set_on(false);
        assert_eq!(slot.install(m, &AtomicBool::new(false)), Some(1));
        assert!(!on.load(Ordering::SeqCst));
        slot.set_on(true);
        assert!(on.load(Ordering::SeqCst));
    }

    #[test]
    fn a_new_capture_replaces_the_old_and_a_closed_connection_takes_none() {
        let slot = MicrophoneSlot::new();
        let (a, _, a_stopped) = mic("alsa_input.a", "Built-in Audio");
        let (b, _, b_stopped) = mic("alsa_input.b", "USB Headset");
        assert_eq!(slot.install(a, &AtomicBool::new(false)), Some(1));
        assert_eq!(
            slot.capturing("Built-in Audio").map(|i| i.source),
            Some("alsa_input.a".into())
        );
        assert_eq!(
            slot.capturing("alsa_input.a").map(|i| i.source),
            Some("alsa_input.a".into())
        );
        assert_eq!(slot.install(b, &AtomicBool::new(false)), Some(2));
        assert!(a_stopped.load(Ordering::SeqCst), "the old capture stops");
        assert_eq!(slot.capturing("Built-in Audio"), None);
        // The old one's end changes nothing; the current one's empties the slot.
        assert!(!slot.stop_if(1));
        assert_eq!(slot.clock(), Some(2));
        assert!(slot.stop_if(2));
        assert!(b_stopped.load(Ordering::SeqCst));
        assert_eq!(slot.clock(), None);

        let (c, _, c_stopped) = mic("alsa_input.c", "Webcam");
        assert_eq!(slot.install(c, &AtomicBool::new(true)), None);
        assert!(
            c_stopped.load(Ordering::SeqCst),
            "a capture opened after close stops at once"
        );
        assert_eq!(slot.clock(), None);
    }
}
