//! The other side's sound between its arrival and the speaker: packets come in bursts, late, out
//! of order, twice or never, and the sound server asks for a steady few ms at a time. The
//! buffer places each decoded packet by its timestamp (the sender's media clock, in samples),
//! starts playing once about 60 ms are there, and keeps the delay under about 200 ms by skipping
//! ahead. It also comes down from a cushion it does not need: when for a whole second the least
//! it held was more than about 20 ms, it skips ahead by the excess (once a second at most).
//!
//! No clicks: a gap (a packet lost, or late) is bridged with the last 20 ms played backwards,
//! fading out (the wave goes on from the very sample where it stopped); sound after a gap, or
//! after skipping ahead, fades in over that concealment. When nothing is left at all, it goes
//! quiet and waits for 60 ms again.
//!
//! The same rules as the page's player (`ui/src/calls/bridged/jitter-buffer.ts`), which plays
//! where the app can't (no sound server); measured there between two Linux apps, without the
//! trimming a burst early in a call held 150 ms for the rest of it where 20–60 would have done.

use std::collections::VecDeque;

/// How the buffer is tuned, in ms; the defaults are the page player's.
#[derive(Debug, Clone, Copy)]
pub struct JitterOptions {
    /// Samples per second, of what is pushed and what is pulled.
    pub rate: u32,
    /// How much is held before playing starts.
    pub target_ms: u32,
    /// Beyond this much held, the oldest is dropped down to `target_ms`.
    pub max_ms: u32,
    /// How long a gap is bridged with the last sound fading out.
    pub conceal_ms: u32,
    /// How long sound takes to fade in after a gap.
    pub fade_ms: u32,
    /// The least a second of playing should have held: more than this is cut, once a second.
    pub keep_ms: u32,
}

impl JitterOptions {
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            target_ms: 60,
            max_ms: 200,
            conceal_ms: 20,
            fade_ms: 5,
            keep_ms: 20,
        }
    }
}

/// What happened to the packets and the playing, for the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterCounts {
    /// Packets that came after their time had been played.
    pub late: u64,
    pub duplicates: u64,
    /// Packets dropped to keep the delay down.
    pub dropped: u64,
    /// Times the delay was brought down to what the last second needed.
    pub trimmed: u64,
    /// Times playing stopped because nothing was left.
    pub underruns: u64,
    /// Samples played from concealment (or silence) while playing.
    pub concealed: u64,
}

struct Chunk {
    start: i64,
    end: i64,
    pcm: Vec<f32>,
}

/// A timestamp this far from where playing is (in seconds) can't be the same stream's: the sender's clock jumped.
const JUMP_S: i64 = 1;
/// Packets held at most (a sender of tiny packets must not fill the memory).
const MAX_CHUNKS: usize = 256;

pub struct JitterBuffer {
    counts: JitterCounts,
    rate: i64,
    target: i64,
    max: i64,
    fade: i64,
    keep: i64,
    jump: i64,
    /// Sorted by start.
    chunks: VecDeque<Chunk>,
    playing: bool,
    /// The sample (of the sender's clock) that plays next.
    cursor: i64,
    /// The last samples played, a ring (`history_at`: the oldest).
    history: Vec<f32>,
    history_at: usize,
    /// The concealment: the history when it began, newest first.
    tail: Vec<f32>,
    /// How far into the concealment; its length or more: silent.
    conceal_pos: usize,
    gap: i64,
    fade_left: i64,
    /// The least held since `window_played` was last 0 (samples), while playing.
    window_least: i64,
    window_played: i64,
}

impl JitterBuffer {
    pub fn new(options: JitterOptions) -> Self {
        let rate = i64::from(options.rate.max(1));
        let samples = |ms: u32| ((rate * i64::from(ms) + 500) / 1000).max(1);
        let target = samples(options.target_ms);
        let conceal = samples(options.conceal_ms) as usize;
        Self {
            counts: JitterCounts::default(),
            rate,
            target,
            max: target.max(samples(options.max_ms)),
            fade: samples(options.fade_ms),
            keep: samples(options.keep_ms),
            jump: rate * JUMP_S,
            chunks: VecDeque::new(),
            playing: false,
            cursor: 0,
            history: vec![0.0; conceal],
            history_at: 0,
            tail: vec![0.0; conceal],
            conceal_pos: conceal,
            gap: 0,
            fade_left: 0,
            window_least: i64::MAX,
            window_played: 0,
        }
    }

    pub fn counts(&self) -> JitterCounts {
        self.counts
    }

    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// How much is held, in ms (from what plays next to the end of the latest packet).
    pub fn buffered_ms(&self) -> f64 {
        self.held_samples() as f64 * 1000.0 / self.rate as f64
    }

    /// A decoded packet whose first sample is `start` on the sender's media clock (in samples).
    pub fn push(&mut self, start: i64, pcm: Vec<f32>) {
        if pcm.is_empty() {
            return;
        }
        let end = start + pcm.len() as i64;
        let from = if self.playing {
            Some(self.cursor)
        } else {
            self.chunks.front().map(|c| c.start)
        };
        if from.is_some_and(|from| (start - from).abs() > self.jump) {
            self.restart();
        } else if self.playing && end <= self.cursor {
            self.counts.late += 1;
            return;
        }
        let at = self.chunks.partition_point(|c| c.start < start);
        if self.chunks.get(at).is_some_and(|c| c.start == start) {
            self.counts.duplicates += 1;
            return;
        }
        self.chunks.insert(at, Chunk { start, end, pcm });
        if self.chunks.len() > MAX_CHUNKS {
            self.chunks.pop_front();
            self.counts.dropped += 1;
        }
        self.keep_delay_down();
    }

    /// Fills `out` with what plays next (silence while there is nothing to play).
    pub fn pull(&mut self, out: &mut [f32]) {
        let n = out.len();
        if !self.playing && !self.start_playing() {
            // Quiet, once what was playing has faded out.
            for v in out.iter_mut() {
                *v = self.conceal();
            }
            return;
        }
        self.trim_to_need();
        let mut i = 0;
        while i < n {
            while self.chunks.front().is_some_and(|c| c.end <= self.cursor) {
                self.chunks.pop_front();
            }
            let next = self.chunks.front().map(|c| (c.start, c.end));
            if let Some((start, end)) = next.filter(|(start, _)| *start <= self.cursor) {
                if self.gap > 0 {
                    self.gap = 0;
                    self.fade_left = self.fade;
                }
                let take = ((end - self.cursor) as usize).min(n - i);
                let from = (self.cursor - start) as usize;
                for k in 0..take {
                    let v = self.chunks[0].pcm[from + k];
                    out[i + k] = self.sound(v);
                }
                i += take;
                self.cursor += take as i64;
                continue;
            }
            let take = match next {
                Some((start, _)) => ((start - self.cursor) as usize).min(n - i),
                None => n - i,
            };
            if self.gap == 0 && self.fade_left == 0 {
                self.start_concealing();
            }
            self.fade_left = 0;
            for v in &mut out[i..i + take] {
                *v = self.conceal();
            }
            i += take;
            self.cursor += take as i64;
            self.gap += take as i64;
            self.counts.concealed += take as u64;
            if next.is_none() && self.conceal_pos >= self.tail.len() {
                // Faded out with nothing to come: quiet until enough is held again.
                self.playing = false;
                self.counts.underruns += 1;
                out[i..].fill(0.0);
                return;
            }
        }
        // The low point: what is left once this much has played.
        self.window_least = self.window_least.min(self.held_samples());
        self.window_played += n as i64;
    }

    fn start_playing(&mut self) -> bool {
        let Some(first) = self.chunks.front().map(|c| c.start) else {
            return false;
        };
        if self.last_end() - first < self.target {
            return false;
        }
        self.playing = true;
        self.cursor = first;
        self.window_least = i64::MAX;
        self.window_played = 0;
        self.gap = 0;
        // Blended with what still fades out (nothing, after an underrun).
        self.fade_left = self.fade;
        true
    }

    /// One sample of the packets, blended in after a gap or a skip.
    fn sound(&mut self, v: f32) -> f32 {
        let mut out = v;
        if self.fade_left > 0 {
            let w = 1.0 - self.fade_left as f32 / self.fade as f32;
            self.fade_left -= 1;
            out = v * w + self.conceal() * (1.0 - w);
        }
        self.history[self.history_at] = out;
        self.history_at = (self.history_at + 1) % self.history.len();
        out
    }

    /// From here on a gap is bridged with the last sound played backwards: the wave goes on from
    /// the very sample where it stopped (no step), and fades out.
    fn start_concealing(&mut self) {
        let len = self.history.len();
        for k in 0..len {
            self.tail[k] = self.history[(self.history_at + len - 1 - k) % len];
        }
        self.conceal_pos = 0;
    }

    /// The next sample of the concealment; silence once it faded out.
    fn conceal(&mut self) -> f32 {
        let len = self.tail.len();
        if self.conceal_pos >= len {
            return 0.0;
        }
        let v = self.tail[self.conceal_pos] * (1.0 - self.conceal_pos as f32 / len as f32);
        self.conceal_pos += 1;
        v
    }

    /// Too much held (a burst after a stall): the oldest goes, down to the target.
    fn keep_delay_down(&mut self) {
        if self.held_samples() <= self.max {
            return;
        }
        self.skip_to(self.last_end() - self.target);
    }

    /// Once a second of playing has gone by with more than `keep` held all along (at the low
    /// point of every pull), skips ahead by the excess.
    fn trim_to_need(&mut self) {
        if self.window_played < self.rate {
            return;
        }
        let excess = self.window_least - self.keep;
        self.window_least = i64::MAX;
        self.window_played = 0;
        if excess < self.fade * 2 {
            return;
        }
        self.skip_to(self.cursor + excess);
        self.counts.trimmed += 1;
    }

    /// Drops what comes before `at`; when playing, goes on from there, blended in.
    fn skip_to(&mut self, at: i64) {
        while self.chunks.front().is_some_and(|c| c.end <= at) {
            self.chunks.pop_front();
            self.counts.dropped += 1;
        }
        if self.playing {
            self.cursor = at;
            // Blend from what was playing into the new place.
            if self.fade_left == 0 && self.gap == 0 {
                self.start_concealing();
            }
            self.fade_left = self.fade;
            self.gap = 0;
        }
    }

    /// Starts over (the sender's clock jumped); what was playing fades out meanwhile.
    fn restart(&mut self) {
        if self.playing && self.fade_left == 0 && self.gap == 0 {
            self.start_concealing();
        }
        self.fade_left = 0;
        self.chunks.clear();
        self.playing = false;
        self.gap = 0;
    }

    /// Samples held, from what plays next (the first packet's start before playing) to the latest end.
    fn held_samples(&self) -> i64 {
        let Some(first) = self.chunks.front() else { return 0 };
        let from = if self.playing { self.cursor } else { first.start };
        (self.last_end() - from).max(0)
    }

    fn last_end(&self) -> i64 {
        self.chunks.iter().map(|c| c.end).max().unwrap_or(i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;
    const FRAME: usize = 960; // 20 ms
    const QUANTUM: usize = 128;

    fn at(n: i64) -> i64 {
        n * FRAME as i64
    }

    /// A 20 ms packet of one constant value (which packet played where is then plain to see).
    fn flat(v: f32) -> Vec<f32> {
        vec![v; FRAME]
    }

    /// A 20 ms packet of a 440 Hz sine, continuing across packets.
    fn sine(n: i64) -> Vec<f32> {
        (0..FRAME)
            .map(|i| {
                let t = (n as f64 * FRAME as f64 + i as f64) / f64::from(RATE);
                (0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as f32
            })
            .collect()
    }

    fn buffer() -> JitterBuffer {
        JitterBuffer::new(JitterOptions::new(RATE))
    }

    /// `quanta` pulls of 128 samples, one after the other.
    fn play(jb: &mut JitterBuffer, quanta: usize) -> Vec<f32> {
        let mut out = vec![0.0; quanta * QUANTUM];
        for block in out.chunks_mut(QUANTUM) {
            jb.pull(block);
        }
        out
    }

    fn quanta_for(ms: usize) -> usize {
        ((ms * RATE as usize) as f64 / 1000.0 / QUANTUM as f64).round() as usize
    }

    /// The largest step between neighbouring samples: a click is a big one.
    fn max_step(a: &[f32]) -> f32 {
        a.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
    }

    /// The values of flat packets, in the order played (runs of 100 samples or more: not fades).
    fn plateaus(a: &[f32]) -> Vec<f32> {
        let mut seen: Vec<f32> = Vec::new();
        let mut run = 0;
        for i in 0..a.len() {
            run = if i > 0 && a[i] == a[i - 1] { run + 1 } else { 1 };
            if run == 100 && a[i] != 0.0 && seen.last() != Some(&a[i]) {
                seen.push(a[i]);
            }
        }
        seen
    }

    #[test]
    fn is_quiet_until_60_ms_are_held_then_plays_in_order_fading_in() {
        let mut jb = buffer();
        jb.push(at(0), flat(1.0));
        jb.push(at(1), flat(2.0));
        assert!(play(&mut jb, 2).iter().all(|v| *v == 0.0));
        assert!(!jb.is_playing());
        jb.push(at(2), flat(3.0));
        assert_eq!(jb.buffered_ms(), 60.0);
        let out = play(&mut jb, quanta_for(60));
        assert!(jb.is_playing());
        assert_eq!(out[0], 0.0);
        assert_eq!(plateaus(&out), [1.0, 2.0, 3.0]);
        // The fade-in is short: 5 ms.
        assert_eq!(out[240], 1.0);
    }

    #[test]
    fn puts_packets_that_came_out_of_order_back_in_order() {
        let mut jb = buffer();
        for n in [0, 2, 1, 4, 3] {
            jb.push(at(n), flat(n as f32 + 1.0));
        }
        assert_eq!(plateaus(&play(&mut jb, quanta_for(100))), [1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn drops_a_packet_that_came_twice_or_after_its_time_was_played() {
        let mut jb = buffer();
        for n in 0..3 {
            jb.push(at(n), flat(n as f32 + 1.0));
        }
        jb.push(at(1), flat(6.0));
        assert_eq!(jb.counts().duplicates, 1);
        assert_eq!(plateaus(&play(&mut jb, quanta_for(40))), [1.0, 2.0]);
        jb.push(at(0), flat(6.0));
        assert_eq!(jb.counts().late, 1);
        jb.push(at(3), flat(4.0));
        assert_eq!(plateaus(&play(&mut jb, quanta_for(40))), [3.0, 4.0]);
    }

    #[test]
    fn bridges_a_lost_packet_without_a_click() {
        let mut jb = buffer();
        for n in (0..10).filter(|n| *n != 5) {
            jb.push(at(n), sine(n));
        }
        let out = play(&mut jb, quanta_for(180));
        let sine_step = 0.5 * (2.0 * std::f32::consts::PI * 440.0 / RATE as f32);
        assert!(max_step(&out) < 2.0 * sine_step, "step {}", max_step(&out));
        assert_eq!(jb.counts().concealed, FRAME as u64);
        // Packet 5's time: the concealment fades to nothing within 20 ms.
        let lost = &out[5 * FRAME + 10..6 * FRAME - 10];
        assert!(lost.iter().all(|v| v.abs() < 0.5));
        assert!(lost.last().is_some_and(|v| v.abs() < 0.02));
        // Packets 6 and on play as they were (after the fade-in).
        assert!((out[6 * FRAME + 300] - sine(6)[300]).abs() < 1e-6);
    }

    #[test]
    fn runs_dry_without_a_click_goes_quiet_and_waits_for_60_ms_again() {
        let mut jb = buffer();
        for n in 0..3 {
            jb.push(at(n), sine(n));
        }
        let out = play(&mut jb, quanta_for(120));
        assert!(max_step(&out) < 0.1);
        assert!(!jb.is_playing());
        assert_eq!(jb.counts().underruns, 1);
        assert_eq!(out.last(), Some(&0.0));
        // The sender goes on after a pause; playing starts again once 60 ms are held.
        jb.push(at(50), flat(4.0));
        jb.push(at(51), flat(5.0));
        assert!(play(&mut jb, 4).iter().all(|v| *v == 0.0));
        jb.push(at(52), flat(6.0));
        assert_eq!(plateaus(&play(&mut jb, quanta_for(60))), [4.0, 5.0, 6.0]);
    }

    #[test]
    fn a_burst_after_a_stall_is_cut_down_to_60_ms_the_oldest_goes() {
        let mut jb = buffer();
        for n in 0..3 {
            jb.push(at(n), flat(1.0));
        }
        play(&mut jb, 2);
        for n in 3..30 {
            jb.push(at(n), flat(if n < 27 { 2.0 } else { 3.0 }));
        }
        assert!(
            jb.buffered_ms() <= 200.0 && jb.buffered_ms() >= 55.0,
            "{}",
            jb.buffered_ms()
        );
        assert!(jb.counts().dropped > 15);
        let out = play(&mut jb, quanta_for(200));
        assert_eq!(plateaus(&out), [2.0, 3.0]);
        // What plays after the cut: at most 200 ms, the last 60 ms of it the newest packets.
        assert!(out.iter().filter(|v| **v == 3.0).count() <= 3 * FRAME + 1);
        assert!(out.iter().filter(|v| **v == 2.0).count() <= 7 * FRAME);
        // The cut blends from what played into the newer packets.
        let first3 = out.iter().position(|v| *v == 3.0).expect("the newest packets play");
        assert!(max_step(&out[..first3]) < 0.05);
    }

    #[test]
    fn comes_down_from_a_cushion_it_did_not_need_for_a_second() {
        let mut jb = buffer();
        // A burst at the start: 160 ms held, then one packet per 20 ms played, steadily.
        let mut n = 0;
        while n < 8 {
            jb.push(at(n), sine(n));
            n += 1;
        }
        let mut out = Vec::new();
        let mut held = Vec::new();
        for _ in (0..3000).step_by(20) {
            let mut block = vec![0.0; FRAME];
            jb.pull(&mut block);
            out.extend_from_slice(&block);
            jb.push(at(n), sine(n));
            n += 1;
            held.push(jb.buffered_ms());
        }
        // The first second keeps the cushion; after it, the excess is cut once and stays cut.
        assert!(held[..45].iter().all(|h| *h > 120.0));
        assert!(held[60..].iter().all(|h| *h <= 60.0));
        assert_eq!(jb.counts().trimmed, 1);
        assert_eq!(jb.counts().underruns, 0);
        assert!(max_step(&out) < 0.1);
    }

    #[test]
    fn keeps_a_cushion_it_needed_bursts_are_not_trimmed_into_gaps() {
        let mut jb = buffer();
        let mut n = 0;
        while n < 3 {
            jb.push(at(n), sine(n));
            n += 1;
        }
        // Three packets every 60 ms: what is held swings from 60 ms down to nothing.
        for _ in (0..3000).step_by(60) {
            jb.pull(&mut vec![0.0; 3 * FRAME]);
            for _ in 0..3 {
                jb.push(at(n), sine(n));
                n += 1;
            }
        }
        assert_eq!(jb.counts().trimmed, 0);
        assert_eq!(jb.counts().underruns, 0);
    }

    #[test]
    fn starts_over_when_the_senders_clock_jumps_fading_out_what_played() {
        let mut jb = buffer();
        for n in 0..4 {
            jb.push(at(n), flat(1.0));
        }
        play(&mut jb, quanta_for(20));
        jb.push(at(1000), flat(2.0));
        let out = play(&mut jb, 8);
        assert!(!jb.is_playing());
        assert!(max_step(&out) < 0.01);
        for n in 1001..1003 {
            jb.push(at(n), flat(2.0));
        }
        assert_eq!(plateaus(&play(&mut jb, quanta_for(60))), [2.0]);
    }

    #[test]
    fn ignores_empty_packets() {
        let mut jb = buffer();
        jb.push(0, Vec::new());
        assert_eq!(jb.buffered_ms(), 0.0);
    }
}
