//! The bitrate the page's camera encoder should aim at, from what the other side reports about
//! our video: the loss-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02 §6),
//! which is what a browser's WebRTC falls back to without transport-wide feedback. The page has
//! no congestion control of its own (WebCodecs encodes at whatever rate it is given), so without
//! this a call over a thin link would keep losing packets at a rate the link cannot carry.

/// The page's own bounds and start (ui/src/calls/bridged/frames.ts, video-sender.ts): the
/// suggestion never leaves them, so the page never has to correct it.
pub const MIN_VIDEO_BPS: u32 = 150_000;
pub const MAX_VIDEO_BPS: u32 = 2_500_000;
pub const START_VIDEO_BPS: u32 = 1_000_000;

/// Above this fraction of packets lost the link is overloaded: back off in proportion.
const BACK_OFF_ABOVE: f64 = 0.10;
/// Below it the link has room: probe upwards.
const GROW_BELOW: f64 = 0.02;
/// Per report (every 2 s). GCC grows 5% per second; two seconds' worth at once.
const GROWTH: f64 = 1.10;

/// Follows the receiver's reports, one at a time.
#[derive(Debug, Clone)]
pub struct BitrateControl {
    target_bps: u32,
}

impl Default for BitrateControl {
    fn default() -> Self {
        BitrateControl {
            target_bps: START_VIDEO_BPS,
        }
    }
}

impl BitrateControl {
    /// The target after a report that `fraction_lost` (0–1) of our video packets since the last
    /// one did not arrive. Between the two thresholds it holds: that much loss is the link's
    /// noise, not our rate.
    pub fn on_report(&mut self, fraction_lost: f64) -> u32 {
        // A report that is no number says nothing: hold.
        if !fraction_lost.is_finite() {
            return self.target_bps;
        }
        let lost = fraction_lost.clamp(0.0, 1.0);
        let target = f64::from(self.target_bps);
        let next = if lost > BACK_OFF_ABOVE {
            target * (1.0 - 0.5 * lost)
        } else if lost < GROW_BELOW {
            target * GROWTH
        } else {
            target
        };
        // In bounds before the conversion, so the cast cannot overflow.
        self.target_bps = next.clamp(f64::from(MIN_VIDEO_BPS), f64::from(MAX_VIDEO_BPS)).round() as u32;
        self.target_bps
    }

    /// The current target.
    pub fn target_bps(&self) -> u32 {
        self.target_bps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_link_grows_to_the_ceiling_and_stays_there() {
        let mut c = BitrateControl::default();
        let first = c.on_report(0.0);
        assert!(first > START_VIDEO_BPS);
        for _ in 0..50 {
            c.on_report(0.0);
        }
        assert_eq!(c.target_bps(), MAX_VIDEO_BPS);
    }

    #[test]
    fn heavy_loss_backs_off_in_proportion_down_to_the_floor() {
        let mut c = BitrateControl::default();
        assert_eq!(c.on_report(0.5), 750_000);
        assert_eq!(c.on_report(0.2), 675_000);
        for _ in 0..50 {
            c.on_report(1.0);
        }
        assert_eq!(c.target_bps(), MIN_VIDEO_BPS);
    }

    #[test]
    fn moderate_loss_holds_the_rate() {
        let mut c = BitrateControl::default();
        assert_eq!(c.on_report(0.05), START_VIDEO_BPS);
        assert_eq!(c.on_report(0.02), START_VIDEO_BPS);
        assert_eq!(c.on_report(0.10), START_VIDEO_BPS);
    }

    #[test]
    fn a_report_that_is_no_number_holds_and_one_out_of_range_is_bounded() {
        let mut c = BitrateControl::default();
        assert_eq!(c.on_report(f64::NAN), START_VIDEO_BPS);
        assert_eq!(c.on_report(f64::INFINITY), START_VIDEO_BPS);
        assert_eq!(c.on_report(-3.0), 1_100_000);
        assert_eq!(c.on_report(7.0), 550_000);
    }
}
