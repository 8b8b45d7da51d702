//! A connection's microphone captured in Rust: one at a time ([`Slot`]), its number the clock
//! of its RTP timestamps, with the mute state that outlives any one capture.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{Microphone, MicrophoneInfo};
use crate::slot::Slot;

pub(crate) struct MicrophoneSlot {
    slot: Slot<Microphone>,
    /// Not muted. Kept here, not only in the capture: a mute while a capture opens applies to it.
    on: AtomicBool,
}

impl MicrophoneSlot {
    pub(crate) fn new() -> MicrophoneSlot {
        MicrophoneSlot {
            slot: Slot::new(),
            on: AtomicBool::new(true),
        }
    }

    /// Held while a capture opens: the next waits for it.
    pub(crate) async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.slot.one_at_a_time().await
    }

    /// The number of the capture in use, if one is.
    pub(crate) fn clock(&self) -> Option<u64> {
        self.slot.number()
    }

    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    /// Muted (false) or not, now and for a capture still opening.
    pub(crate) fn set_on(&self, on: bool) {
        self.slot.with(|mic| {
            self.on.store(on, Ordering::SeqCst);
            if let Some(mic) = mic {
                mic.set_on(on);
            }
        });
    }

    /// The capture in use, when it is of the source `label` names (its description or name).
    pub(crate) fn capturing(&self, label: &str) -> Option<MicrophoneInfo> {
        let label = label.trim();
        self.slot.with(|mic| {
            mic.map(Microphone::info)
                .filter(|info| info.description == label || info.source == label)
                .cloned()
        })
    }

    /// Puts `mic` in use (the one before stops) and gives its number; none, and `mic` stops,
    /// when the connection closed meanwhile (`closed` is set before the slot is emptied).
    pub(crate) fn install(&self, mic: Microphone, closed: &AtomicBool) -> Option<u64> {
        self.slot.install(mic, closed, |mic| mic.set_on(self.is_on()))
    }

    /// Stops the capture in use, if any.
    pub(crate) fn stop(&self) {
        self.slot.stop();
    }

    /// Stops capture number `clock` if it is still the one in use; says whether it was.
    pub(crate) fn stop_if(&self, clock: u64) -> bool {
        self.slot.stop_if(clock)
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
