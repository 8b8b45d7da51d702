//! Relay: clients in pairs (each pair alone in its room on v1), sending each other small
//! signal frames that carry their send time.
//!
//! * Closed loop: in every pair one message is in flight, bounced back as soon as it arrives;
//!   the server is saturated and the figure is relayed messages per second.
//! * Open loop: a ticker thread schedules sends at a fixed total rate, independent of replies,
//!   round-robin over all clients. Each frame carries its *scheduled* time, so latency counts any
//!   delay in sending too (no coordinated omission).

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{interval_at, timeout, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use crate::proto::{find_ts, is_error, FrameTemplate, Proto, Ws, HEARTBEAT};
use crate::server::ServerProc;
use crate::sys::{self, now_ns, CpuSample, CpuUse};

pub struct RelayOpts {
    pub clients: usize,
    pub concurrency: usize,
    pub warmup: Duration,
    pub closed: Duration,
    pub open: Duration,
    pub rates: Vec<u64>,
    pub drain: Duration,
    pub pad: usize,
    /// Open loop: shortest pause of the ticker thread (bounds its wake-ups per second).
    pub tick_quantum: Duration,
}

pub struct PhaseResult {
    pub sent: u64,
    /// Open loop: messages scheduled by the ticker (sent should match).
    pub scheduled: u64,
    pub received: u64,
    /// Closed loop: received inside the measuring window.
    pub window_received: u64,
    pub window_secs: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub disconnects: u64,
    /// One-hop latency, µs.
    pub latency: Histogram<u64>,
    /// Open loop: how late the load generator sent after the scheduled time, µs.
    pub send_lag: Histogram<u64>,
    pub cpu: CpuUse,
}

impl PhaseResult {
    pub fn rate(&self) -> f64 {
        self.window_received as f64 / self.window_secs.max(1e-9)
    }

    /// Server CPU time per relayed message, µs (`None` without a measurable rate).
    pub fn server_us_per_msg(&self) -> Option<f64> {
        self.per_msg_us(self.cpu.server())
    }

    /// The part of [`Self::server_us_per_msg`] spent in the kernel: for a relay over loopback TCP
    /// mostly sending (the receiver's TCP stack runs in the sender's context), which any server
    /// pays per message whatever its own code does.
    pub fn server_kernel_us_per_msg(&self) -> Option<f64> {
        self.per_msg_us(self.cpu.server_system)
    }

    fn per_msg_us(&self, cores: f64) -> Option<f64> {
        let rate = self.rate();
        (rate > 0.0 && cores > 0.0).then(|| cores * 1e6 / rate)
    }

    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }
}

pub struct RelayResult {
    pub clients: usize,
    pub setup_secs: f64,
    pub closed: Option<PhaseResult>,
    pub open: Vec<(u64, PhaseResult)>,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Idle,
    Closed { measure_from_ns: u64, end_ns: u64 },
    Open,
    Stop,
}

struct Stats {
    from_ns: u64,
    sent: u64,
    received: u64,
    window_received: u64,
    stale: u64,
    errors: u64,
    first_error: Option<String>,
    disconnects: u64,
    latency: Histogram<u64>,
    send_lag: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

impl Stats {
    fn new(from_ns: u64) -> Self {
        Stats {
            from_ns,
            sent: 0,
            received: 0,
            window_received: 0,
            stale: 0,
            errors: 0,
            first_error: None,
            disconnects: 0,
            latency: histogram(),
            send_lag: histogram(),
        }
    }

    /// Books one relayed frame; true when the closed loop wants it bounced back.
    fn on_relay(&mut self, ts: u64, now: u64, phase: Phase) -> bool {
        if ts < self.from_ns {
            self.stale += 1;
            return false;
        }
        self.received += 1;
        let micros = now.saturating_sub(ts) / 1000;
        match phase {
            Phase::Closed {
                measure_from_ns,
                end_ns,
                ..
            } => {
                if now >= measure_from_ns && now < end_ns {
                    self.window_received += 1;
                    self.latency.saturating_record(micros.max(1));
                }
                now < end_ns
            }
            _ => {
                self.latency.saturating_record(micros.max(1));
                false
            }
        }
    }
}

/// What the relay phases talk to: the addresses clients connect to (client `i` to
/// `addrs[i % len]`, so with two addresses every pair spans both) and the processes whose CPU
/// counts as the server's.
pub struct Servers {
    pub addrs: Vec<SocketAddr>,
    pub pids: Vec<u32>,
}

impl Servers {
    pub fn one(server: &ServerProc) -> Self {
        Servers {
            addrs: vec![server.addr],
            pids: vec![server.pid],
        }
    }
}

pub async fn run(
    servers: &Servers,
    proto: &Proto,
    opts: &RelayOpts,
    src: Ipv4Addr,
    tag: &str,
) -> Result<RelayResult, String> {
    let pairs = (opts.clients / 2).max(1);
    let n = pairs * 2;
    let setup_start = Instant::now();

    // Connect (and on v1 join `pair-I`) with bounded concurrency.
    let sem = Rc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let (sem, proto, addr) = (sem.clone(), proto.clone(), servers.addrs[i % servers.addrs.len()]);
        let id = format!("{tag}{}{}", if i % 2 == 0 { 'a' } else { 'b' }, i / 2);
        handles.push(tokio::task::spawn_local(async move {
            let _permit = sem.acquire().await;
            timeout(Duration::from_secs(20), async {
                let (mut ws, peer_id) = proto.connect(addr, src, &id, i).await?;
                proto.join(&mut ws, &format!("pair-{}", i / 2)).await?;
                Ok::<_, String>((ws, peer_id))
            })
            .await
            .unwrap_or_else(|_| Err("connect/join timed out".into()))
        }));
    }
    let mut conns: Vec<(Ws, String)> = Vec::with_capacity(n);
    let mut failures = 0;
    let mut first_error = None;
    for h in handles {
        match h.await.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(c) => conns.push(c),
            Err(e) => {
                failures += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if failures > 0 {
        return Err(format!(
            "{failures} of {n} relay clients failed to connect: {}",
            first_error.unwrap_or_default()
        ));
    }
    let setup_secs = setup_start.elapsed().as_secs_f64();
    eprintln!("      {n} relay clients ready in {setup_secs:.2} s");

    let peer_ids: Vec<String> = conns.iter().map(|(_, p)| p.clone()).collect();
    let stats = Rc::new(RefCell::new(Stats::new(u64::MAX)));
    let (phase_tx, phase_rx) = watch::channel(Phase::Idle);
    let mut tick_txs = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    for (i, (ws, _)) in conns.into_iter().enumerate() {
        let (tick_tx, tick_rx) = mpsc::unbounded_channel();
        tick_txs.push(tick_tx);
        let client = Client {
            index: i,
            ws,
            template: FrameTemplate::new(proto, &peer_ids[i ^ 1], opts.pad),
            initiator: i % 2 == 0,
            heartbeat: proto.is_peerjs(),
            phase_rx: phase_rx.clone(),
            ticks: tick_rx,
            stats: stats.clone(),
        };
        tasks.push(tokio::task::spawn_local(client.run()));
    }

    let mut result = RelayResult {
        clients: n,
        setup_secs,
        closed: None,
        open: Vec::new(),
    };

    // Closed loop.
    if !opts.closed.is_zero() {
        let from = Instant::now();
        let measure_from = from + opts.warmup;
        let end = measure_from + opts.closed;
        *stats.borrow_mut() = Stats::new(sys::ns_of(from));
        let _ = phase_tx.send(Phase::Closed {
            measure_from_ns: sys::ns_of(measure_from),
            end_ns: sys::ns_of(end),
        });
        tokio::time::sleep_until(measure_from.into()).await;
        let cpu0 = CpuSample::take(&servers.pids);
        tokio::time::sleep_until(end.into()).await;
        let cpu = CpuSample::take(&servers.pids).since(&cpu0, opts.closed.as_secs_f64());
        // The last bounces are dropped by the clients; let the in-flight ones arrive.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = phase_tx.send(Phase::Idle);
        let secs = opts.closed.as_secs_f64();
        let r = finish(&stats, 0, secs, cpu);
        eprintln!("      closed loop: {:.0} msg/s", r.rate());
        result.closed = Some(r);
    }

    // Open loop at each rate.
    for &rate in &opts.rates {
        let start = Instant::now() + Duration::from_millis(20);
        let end = start + opts.open;
        let (start_ns, end_ns) = (sys::ns_of(start), sys::ns_of(end));
        *stats.borrow_mut() = Stats::new(start_ns);
        let _ = phase_tx.send(Phase::Open);
        // The ticker thread hands over batches; one task here fans them out to the clients, so
        // there is one cross-thread wake-up per batch, not per message.
        let (batch_tx, mut batch_rx) = mpsc::unbounded_channel::<Vec<(u32, u64)>>();
        let quantum = opts.tick_quantum;
        let ticker = std::thread::spawn(move || ticker(batch_tx, n as u64, start_ns, end_ns, rate, quantum));
        let txs = tick_txs.clone();
        let fan_out = tokio::task::spawn_local(async move {
            while let Some(batch) = batch_rx.recv().await {
                for (client, t) in batch {
                    let _ = txs[client as usize].send(t);
                }
            }
        });
        tokio::time::sleep_until(start.into()).await;
        let cpu0 = CpuSample::take(&servers.pids);
        tokio::time::sleep_until(end.into()).await;
        let cpu = CpuSample::take(&servers.pids).since(&cpu0, opts.open.as_secs_f64());
        let _ = fan_out.await;
        let scheduled = ticker.join().unwrap_or(0);
        let drain_until = Instant::now() + opts.drain;
        loop {
            let (sent, received) = {
                let s = stats.borrow();
                (s.sent, s.received)
            };
            if (sent >= scheduled && received >= sent) || Instant::now() >= drain_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = phase_tx.send(Phase::Idle);
        let secs = opts.open.as_secs_f64();
        let r = finish(&stats, scheduled, secs, cpu);
        eprintln!(
            "      open loop {rate}/s: p99 {:.2} ms, {} lost",
            r.latency.value_at_quantile(0.99) as f64 / 1000.0,
            r.lost()
        );
        result.open.push((rate, r));
    }

    let _ = phase_tx.send(Phase::Stop);
    let _ = timeout(Duration::from_secs(10), futures_util::future::join_all(tasks)).await;
    drop(tick_txs);
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(result)
}

fn finish(stats: &Rc<RefCell<Stats>>, scheduled: u64, window_secs: f64, cpu: CpuUse) -> PhaseResult {
    let s = std::mem::replace(&mut *stats.borrow_mut(), Stats::new(u64::MAX));
    if s.stale > 0 {
        eprintln!("      ({} stale frames from an earlier phase ignored)", s.stale);
    }
    PhaseResult {
        sent: s.sent,
        scheduled,
        received: s.received,
        window_received: s.window_received,
        window_secs,
        errors: s.errors,
        first_error: s.first_error,
        disconnects: s.disconnects,
        latency: s.latency,
        send_lag: s.send_lag,
        cpu,
    }
}

/// Schedules message k at `start + k / rate` for client `k mod n`, until `end`, and hands them to
/// the runtime in batches: it wakes when the next message is due but not sooner than `quantum`
/// after its last wake-up, so a message may go out up to `quantum` late (measured as send lag,
/// and counted in its latency). Runs on its own thread with a precise sleep: tokio timers have
/// 1 ms granularity. Returns the number of messages scheduled.
fn ticker(
    out: mpsc::UnboundedSender<Vec<(u32, u64)>>,
    n: u64,
    start_ns: u64,
    end_ns: u64,
    rate: u64,
    quantum: Duration,
) -> u64 {
    sys::low_timer_slack();
    let quantum = quantum.as_nanos() as u64;
    let at = |k: u64| start_ns + (u128::from(k) * 1_000_000_000 / u128::from(rate.max(1))) as u64;
    let mut k: u64 = 0;
    let mut last_wake = 0;
    loop {
        let next = at(k);
        if next >= end_ns {
            return k;
        }
        let wake = next.max(last_wake + quantum);
        let now = now_ns();
        if wake > now {
            std::thread::sleep(Duration::from_nanos(wake - now));
        }
        let now = now_ns();
        last_wake = now;
        let mut batch = Vec::new();
        while at(k) <= now && at(k) < end_ns {
            batch.push(((k % n) as u32, at(k)));
            k += 1;
        }
        if !batch.is_empty() && out.send(batch).is_err() {
            return k;
        }
    }
}

struct Client {
    index: usize,
    ws: Ws,
    template: FrameTemplate,
    initiator: bool,
    heartbeat: bool,
    phase_rx: watch::Receiver<Phase>,
    ticks: mpsc::UnboundedReceiver<u64>,
    stats: Rc<RefCell<Stats>>,
}

impl Client {
    async fn run(mut self) {
        let mut phase = Phase::Idle;
        let first = tokio::time::Instant::now() + Duration::from_millis(5000 + (self.index as u64 * 7919) % 5000);
        let mut hb = interval_at(first, Duration::from_secs(5));
        hb.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ticks_open = true;
        loop {
            tokio::select! {
                biased;
                changed = self.phase_rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    phase = *self.phase_rx.borrow_and_update();
                    match phase {
                        Phase::Stop => break,
                        Phase::Closed { .. } if self.initiator => {
                            if self.ws.send(self.template.frame(now_ns())).await.is_err() {
                                break;
                            }
                            self.stats.borrow_mut().sent += 1;
                        }
                        _ => {}
                    }
                }
                tick = self.ticks.recv(), if ticks_open => {
                    let Some(first) = tick else {
                        ticks_open = false;
                        continue;
                    };
                    // Send everything due (usually one), then flush once.
                    let mut due = vec![first];
                    while let Ok(t) = self.ticks.try_recv() {
                        due.push(t);
                    }
                    let mut ok = true;
                    for &t in &due {
                        if self.ws.feed(self.template.frame(t)).await.is_err() {
                            ok = false;
                            break;
                        }
                    }
                    ok = ok && self.ws.flush().await.is_ok();
                    let now = now_ns();
                    let mut s = self.stats.borrow_mut();
                    for &t in &due {
                        s.send_lag.saturating_record((now.saturating_sub(t) / 1000).max(1));
                    }
                    s.sent += due.len() as u64;
                    if !ok {
                        s.disconnects += 1;
                        break;
                    }
                }
                msg = self.ws.next() => {
                    match msg {
                        Some(Ok(Message::Text(text))) => {
                            let now = now_ns();
                            match find_ts(&text) {
                                Some(ts) => {
                                    let bounce = self.stats.borrow_mut().on_relay(ts, now, phase);
                                    if bounce {
                                        if self.ws.send(self.template.frame(now_ns())).await.is_err() {
                                            self.stats.borrow_mut().disconnects += 1;
                                            break;
                                        }
                                        self.stats.borrow_mut().sent += 1;
                                    }
                                }
                                None if is_error(&text) => {
                                    let mut s = self.stats.borrow_mut();
                                    s.errors += 1;
                                    s.first_error.get_or_insert_with(|| text.to_string());
                                }
                                None => {}
                            }
                        }
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                            self.stats.borrow_mut().disconnects += 1;
                            break;
                        }
                        Some(Ok(_)) => {}
                    }
                }
                _ = hb.tick(), if self.heartbeat => {
                    if self.ws.send(Message::Text(HEARTBEAT)).await.is_err() {
                        self.stats.borrow_mut().disconnects += 1;
                        break;
                    }
                }
            }
        }
        let _ = timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}
