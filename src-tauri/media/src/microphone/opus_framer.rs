//! PCM from the capture into 20 ms Opus packets, like the page's `AudioEncoder` makes them
//! (48 kHz, mono, 32 kbit/s, in-band FEC), each stamped with its first sample's time on the
//! capture's clock: the samples captured so far, muted ones and holes included, so a pause shows
//! as a gap in RTP time.

use bytes::Bytes;
use opus::{Application, Bitrate, Channels, Encoder};

use super::CapturedPacket;

/// The capture's rate: Opus's own, so the sound server resamples and nothing here does.
pub(crate) const SAMPLE_RATE: u32 = 48_000;
/// Samples per packet: 20 ms.
pub(crate) const FRAME_SAMPLES: usize = 960;
const BITRATE: i32 = 32_000;
/// The largest Opus packet (RFC 6716 §3.4).
const MAX_PACKET: usize = 1275;

pub(crate) struct OpusFramer {
    encoder: Encoder,
    pcm: Vec<f32>,
    /// Samples captured (or owed to holes) before the first one in `pcm`.
    counted: u64,
}

impl OpusFramer {
    pub(crate) fn new() -> Result<OpusFramer, opus::Error> {
        let mut encoder = Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip)?;
        encoder.set_bitrate(Bitrate::Bits(BITRATE))?;
        encoder.set_inband_fec(true)?;
        // What FEC is sized for; the page's encoder is left at its default too.
        encoder.set_packet_loss_perc(10)?;
        Ok(OpusFramer {
            encoder,
            pcm: Vec::with_capacity(FRAME_SAMPLES * 2),
            counted: 0,
        })
    }

    /// Takes captured samples; each whole 20 ms becomes a packet when `on`, and is only counted
    /// when not (muted). A frame that fails to encode is dropped, and the time goes on.
    pub(crate) fn push(&mut self, samples: &[f32], on: bool, out: &mut Vec<CapturedPacket>) {
        self.pcm.extend_from_slice(samples);
        let mut start = 0;
        while self.pcm.len() - start >= FRAME_SAMPLES {
            let frame = &self.pcm[start..start + FRAME_SAMPLES];
            if on {
                if let Ok(payload) = self.encoder.encode_vec_float(frame, MAX_PACKET) {
                    out.push(CapturedPacket {
                        time_us: self.counted * 1_000_000 / u64::from(SAMPLE_RATE),
                        payload: Bytes::from(payload),
                    });
                }
            }
            self.counted += FRAME_SAMPLES as u64;
            start += FRAME_SAMPLES;
        }
        self.pcm.drain(..start);
    }

    /// `samples` the sound server lost (a hole in the recording): the time jumps past them, and
    /// what was half a frame is dropped with it.
    pub(crate) fn skip(&mut self, samples: u64) {
        self.counted += self.pcm.len() as u64 + samples;
        self.pcm.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(from: usize, n: usize) -> Vec<f32> {
        (from..from + n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / SAMPLE_RATE as f32).sin())
            .collect()
    }

    fn rms(pcm: &[f32]) -> f32 {
        (pcm.iter().map(|s| s * s).sum::<f32>() / pcm.len() as f32).sqrt()
    }

    #[test]
    fn whole_frames_become_packets_timed_by_the_samples_however_the_capture_cuts_them() {
        let mut framer = OpusFramer::new().unwrap();
        let mut out = Vec::new();
        // 10 ms fragments, and one odd one: 50 ms in all, so two whole packets and 10 ms held.
        for (at, n) in [(0, 480), (480, 480), (960, 480), (1440, 700), (2140, 260)] {
            framer.push(&tone(at, n), true, &mut out);
        }
        assert_eq!(out.iter().map(|p| p.time_us).collect::<Vec<_>>(), vec![0, 20_000]);
        let mut decoder = opus::Decoder::new(SAMPLE_RATE, Channels::Mono).unwrap();
        let mut pcm = vec![0f32; FRAME_SAMPLES];
        for packet in &out {
            assert!(packet.payload.len() > 10 && packet.payload.len() <= MAX_PACKET);
            assert_eq!(
                decoder.decode_float(&packet.payload, &mut pcm, false).unwrap(),
                FRAME_SAMPLES
            );
        }
        // The second packet decodes to the tone (the first is the codec's start-up).
        assert!(rms(&pcm) > 0.2, "decoded rms {}", rms(&pcm));
    }

    #[test]
    fn muted_time_and_holes_still_count() {
        let mut framer = OpusFramer::new().unwrap();
        let mut out = Vec::new();
        framer.push(&tone(0, FRAME_SAMPLES), true, &mut out);
        framer.push(&tone(0, 2 * FRAME_SAMPLES), false, &mut out);
        assert_eq!(out.len(), 1, "nothing is sent while muted");
        // Half a frame, then a hole of 100 ms: the half is dropped with it.
        framer.push(&tone(0, FRAME_SAMPLES / 2), true, &mut out);
        framer.skip(4800);
        framer.push(&tone(0, FRAME_SAMPLES), true, &mut out);
        let times: Vec<u64> = out.iter().map(|p| p.time_us).collect();
        assert_eq!(times, vec![0, 60_000 + 10_000 + 100_000]);
    }
}
