//! Whole VP8 frames from RTP packets as they arrive: late, twice, out of order or not at all.
//!
//! A frame is the packets of one RTP timestamp, from the one that starts partition 0 (VP8
//! descriptor S=1, PID=0) to the one with the marker bit, every sequence number in between
//! present. Frames come out in order, as soon as they are whole (no frame of delay, unlike
//! webrtc's `SampleBuilder`). A gap is waited for while a later frame is not yet whole — a
//! retransmission (NACK) may still fill it — and given up once one is, or once too much piles up
//! behind it. After a gap the delta frames that depend on what was lost are dropped until a key
//! frame comes, and the caller is told to ask for one.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

/// Packets held waiting for a gap to fill before the oldest are given up.
const MAX_HELD: usize = 512;
/// The VP8 RTP clock.
const CLOCK_HZ: u64 = 90_000;

/// A frame put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub data: Bytes,
    pub keyframe: bool,
    /// The sender's media clock in µs, from the first frame that came out.
    pub time_us: u64,
}

/// What a packet brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reassembled {
    Frame(Frame),
    /// Part of the picture was lost: until a key frame arrives nothing can be shown. Ask the
    /// sender for one.
    NeedKeyframe,
}

struct Piece {
    timestamp: u32,
    marker: bool,
    /// Starts partition 0: the first packet of a frame.
    starts_frame: bool,
    data: Bytes,
}

/// Reassembles one VP8 stream.
pub struct Vp8Reassembler {
    held: BTreeMap<u64, Piece>,
    /// The sequence number (extended past 16 bits) the next frame starts at, once known.
    next: Option<u64>,
    highest: Option<u64>,
    /// Dropping delta frames until a key frame.
    broken: bool,
    /// Told the caller to ask for a key frame since the stream broke.
    asked: bool,
    first_timestamp: Option<u64>,
    last_timestamp: u64,
}

impl Default for Vp8Reassembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Vp8Reassembler {
    pub fn new() -> Self {
        Self {
            held: BTreeMap::new(),
            next: None,
            highest: None,
            // Nothing can be shown before the first key frame.
            broken: true,
            asked: false,
            first_timestamp: None,
            last_timestamp: 0,
        }
    }

    /// Takes one packet's sequence number, timestamp, marker bit and payload; returns what it
    /// completed, in order. A payload that is not VP8 is dropped.
    pub fn push(&mut self, seq: u16, timestamp: u32, marker: bool, payload: &Bytes) -> Vec<Reassembled> {
        let mut out = Vec::new();
        let mut vp8 = Vp8Packet::default();
        let Ok(data) = vp8.depacketize(payload) else {
            return out;
        };
        let ext = self.extend(seq);
        if self.next.is_some_and(|next| ext < next) || self.held.contains_key(&ext) {
            return out;
        }
        self.held.insert(
            ext,
            Piece {
                timestamp,
                marker,
                starts_frame: vp8.s == 1 && vp8.pid == 0,
                data,
            },
        );
        self.drain(&mut out);
        out
    }

    /// The sequence number extended to 64 bits, nearest to the highest seen.
    fn extend(&mut self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            // Room below for packets that arrive late and out of order.
            let ext = (1u64 << 32) + u64::from(seq);
            self.highest = Some(ext);
            return ext;
        };
        let base = highest & !0xFFFF;
        let candidates = [base.wrapping_sub(0x1_0000), base, base + 0x1_0000].map(|b| b + u64::from(seq));
        let ext = candidates
            .into_iter()
            .min_by_key(|c| c.abs_diff(highest))
            .unwrap_or(base + u64::from(seq));
        if ext > highest {
            self.highest = Some(ext);
        }
        ext
    }

    fn drain(&mut self, out: &mut Vec<Reassembled>) {
        loop {
            if let Some((start, end)) = self.whole_frame_at(self.next) {
                self.take(start, end, out);
                continue;
            }
            // The next frame is not whole. Give up on what it waits for when a later frame is
            // whole already, or when too much piles up behind it.
            let later = self.first_whole_frame_after(self.next);
            match later {
                Some((start, end)) if self.next.is_some() || self.held.len() > MAX_HELD => {
                    self.lose_before(start);
                    self.take(start, end, out);
                }
                Some((start, end)) => {
                    // The first frame of the stream: nothing was before it to lose.
                    self.held.retain(|seq, _| *seq >= start);
                    self.take(start, end, out);
                }
                None if self.held.len() > MAX_HELD => {
                    let drop_to = self.held.keys().nth(self.held.len() - MAX_HELD / 2).copied();
                    if let Some(drop_to) = drop_to {
                        self.lose_before(drop_to);
                        self.next = None;
                    }
                    return;
                }
                None => return,
            }
        }
    }

    /// The frame starting at `at` (sequence numbers `start..=end`) if all of it is here.
    fn whole_frame_at(&self, at: Option<u64>) -> Option<(u64, u64)> {
        let start = at?;
        let first = self.held.get(&start)?;
        if !first.starts_frame {
            return None;
        }
        let mut seq = start;
        loop {
            let piece = self.held.get(&seq)?;
            if piece.timestamp != first.timestamp {
                return None;
            }
            if piece.marker {
                return Some((start, seq));
            }
            seq += 1;
        }
    }

    fn first_whole_frame_after(&self, after: Option<u64>) -> Option<(u64, u64)> {
        let from = after.map_or(0, |a| a + 1);
        self.held
            .range(from..)
            .filter(|(_, p)| p.starts_frame)
            .find_map(|(seq, _)| self.whole_frame_at(Some(*seq)))
    }

    fn lose_before(&mut self, seq: u64) {
        self.held.retain(|s, _| *s >= seq);
        self.broken = true;
        self.asked = false;
    }

    fn take(&mut self, start: u64, end: u64, out: &mut Vec<Reassembled>) {
        let mut data = BytesMut::new();
        let mut timestamp = 0;
        for seq in start..=end {
            if let Some(piece) = self.held.remove(&seq) {
                timestamp = piece.timestamp;
                data.extend_from_slice(&piece.data);
            }
        }
        self.next = Some(end + 1);
        // A VP8 frame tag's lowest bit is 0 for a key frame (RFC 6386, 9.1).
        let keyframe = data.first().is_some_and(|b| b & 1 == 0);
        if keyframe {
            self.broken = false;
        }
        if self.broken {
            if !self.asked {
                self.asked = true;
                out.push(Reassembled::NeedKeyframe);
            }
            return;
        }
        out.push(Reassembled::Frame(Frame {
            data: data.freeze(),
            keyframe,
            time_us: self.media_time_us(timestamp),
        }));
    }

    /// RTP timestamps wrap every 13 hours at 90 kHz; unwrapped against the last one.
    fn media_time_us(&mut self, timestamp: u32) -> u64 {
        let ts = u64::from(timestamp);
        let unwrapped = match self.first_timestamp {
            None => {
                self.first_timestamp = Some(ts);
                self.last_timestamp = ts;
                ts
            }
            Some(_) => {
                let last = self.last_timestamp;
                let base = last & !0xFFFF_FFFF;
                let candidates = [base.wrapping_sub(1 << 32), base, base + (1 << 32)].map(|b| b.wrapping_add(ts));
                let t = candidates
                    .into_iter()
                    .min_by_key(|c| c.abs_diff(last))
                    .unwrap_or(base + ts);
                self.last_timestamp = self.last_timestamp.max(t);
                t
            }
        };
        let first = self.first_timestamp.unwrap_or(unwrapped);
        unwrapped.saturating_sub(first) * 1_000_000 / CLOCK_HZ
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RTP payloads of one frame split in `parts` packets (descriptor: S on the first, PID 0).
    fn packets(frame: &[u8], parts: usize) -> Vec<Bytes> {
        let size = frame.len().div_ceil(parts);
        frame
            .chunks(size)
            .enumerate()
            .map(|(i, chunk)| {
                let mut p = vec![if i == 0 { 0x10 } else { 0x00 }];
                p.extend_from_slice(chunk);
                Bytes::from(p)
            })
            .collect()
    }

    /// A frame whose first byte says key (even) or delta (odd), numbered `n`.
    fn frame(n: u8, key: bool) -> Vec<u8> {
        let mut f = vec![if key { 0x10 } else { 0x11 }, n];
        f.extend(std::iter::repeat_n(n, 40));
        f
    }

    struct Stream {
        seq: u16,
        ts: u32,
        sent: Vec<(u16, u32, bool, Bytes)>,
    }

    impl Stream {
        fn new(seq: u16) -> Self {
            Self {
                seq,
                ts: 1000,
                sent: Vec::new(),
            }
        }

        fn send(&mut self, frame: &[u8], parts: usize) {
            let ps = packets(frame, parts);
            let last = ps.len() - 1;
            for (i, p) in ps.into_iter().enumerate() {
                self.sent.push((self.seq, self.ts, i == last, p));
                self.seq = self.seq.wrapping_add(1);
            }
            self.ts = self.ts.wrapping_add(3000);
        }
    }

    fn run(r: &mut Vp8Reassembler, packets: &[(u16, u32, bool, Bytes)]) -> Vec<Reassembled> {
        packets.iter().flat_map(|(s, t, m, p)| r.push(*s, *t, *m, p)).collect()
    }

    fn frames(out: &[Reassembled]) -> Vec<(u8, bool)> {
        out.iter()
            .filter_map(|r| match r {
                Reassembled::Frame(f) => Some((f.data[1], f.keyframe)),
                Reassembled::NeedKeyframe => None,
            })
            .collect()
    }

    #[test]
    fn frames_come_out_whole_and_in_order_across_the_sequence_wrap() {
        let mut s = Stream::new(65_530);
        s.send(&frame(0, true), 3);
        for n in 1..5 {
            s.send(&frame(n, false), 2);
        }
        let mut r = Vp8Reassembler::new();
        let out = run(&mut r, &s.sent);
        assert_eq!(
            frames(&out),
            vec![(0, true), (1, false), (2, false), (3, false), (4, false)]
        );
        let Reassembled::Frame(first) = &out[0] else { panic!() };
        assert_eq!(first.data.as_ref(), frame(0, true).as_slice());
        let Reassembled::Frame(third) = &out[2] else { panic!() };
        assert_eq!(third.time_us, 2 * 3000 * 1_000_000 / 90_000);
    }

    #[test]
    fn reordered_and_duplicated_packets_make_the_same_frames() {
        let mut s = Stream::new(100);
        s.send(&frame(0, true), 4);
        s.send(&frame(1, false), 3);
        s.send(&frame(2, false), 3);
        let mut shuffled = s.sent.clone();
        shuffled.swap(1, 3);
        shuffled.swap(5, 6);
        shuffled.insert(2, s.sent[0].clone());
        shuffled.push(s.sent[4].clone());
        let mut r = Vp8Reassembler::new();
        let out = run(&mut r, &shuffled);
        assert_eq!(frames(&out), vec![(0, true), (1, false), (2, false)]);
    }

    #[test]
    fn a_lost_packet_drops_the_delta_frames_after_it_and_asks_once_for_a_key_frame() {
        let mut s = Stream::new(7);
        s.send(&frame(0, true), 2);
        s.send(&frame(1, false), 2);
        s.send(&frame(2, false), 2);
        s.send(&frame(3, false), 2);
        s.send(&frame(4, true), 2);
        s.send(&frame(5, false), 2);
        let mut lossy = s.sent.clone();
        lossy.remove(3); // the second half of frame 1
        let mut r = Vp8Reassembler::new();
        let out = run(&mut r, &lossy);
        assert_eq!(frames(&out), vec![(0, true), (4, true), (5, false)]);
        assert_eq!(out.iter().filter(|o| **o == Reassembled::NeedKeyframe).count(), 1);
    }

    #[test]
    fn a_gap_filled_late_by_a_retransmission_loses_nothing() {
        let mut s = Stream::new(50);
        s.send(&frame(0, true), 2);
        s.send(&frame(1, false), 3);
        let mut late = s.sent.clone();
        let missing = late.remove(3);
        late.push(missing);
        let mut r = Vp8Reassembler::new();
        assert_eq!(frames(&run(&mut r, &late)), vec![(0, true), (1, false)]);
    }

    #[test]
    fn joining_mid_stream_starts_at_the_first_whole_frame() {
        let mut s = Stream::new(9);
        s.send(&frame(0, true), 3);
        s.send(&frame(1, false), 2);
        let mut r = Vp8Reassembler::new();
        // The first packet of frame 0 never came.
        let out = run(&mut r, &s.sent[1..]);
        assert_eq!(frames(&out), vec![]);
        assert!(out.contains(&Reassembled::NeedKeyframe));
    }

    #[test]
    fn hostile_payloads_neither_panic_nor_pile_up() {
        let mut r = Vp8Reassembler::new();
        let mut seq = 0u16;
        for i in 0..5_000u32 {
            let junk: Vec<u8> = (0..(i % 23))
                .map(|b| (b as u8).wrapping_mul(37).wrapping_add(i as u8))
                .collect();
            let _ = r.push(seq, i.wrapping_mul(7919), i % 3 == 0, &Bytes::from(junk));
            seq = seq.wrapping_add(if i % 5 == 0 { 300 } else { 1 });
        }
        assert!(r.held.len() <= MAX_HELD + 1, "held {}", r.held.len());
    }
}
