//! Load generator for the PeerJS endpoint (works against PeerServer too, for comparison).
//!
//! Idle memory: open N clients that only heartbeat, then report the server's RSS growth per
//! client (pass the server's `--pid`):
//!     peerjs_load idle --clients 19500 --pid $(pgrep -n parley-signal)
//! Relay rate and latency: P sender→receiver pairs relaying OFFER frames at a fixed total rate
//! (or as fast as the server allows with `--rate 0`):
//!     peerjs_load relay --pairs 100 --rate 10000 --seconds 10

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async_with_config, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Parser)]
struct Args {
    /// Base WebSocket URL of the endpoint, without query.
    #[arg(long, default_value = "ws://127.0.0.1:9000/peerjs/peerjs")]
    url: String,
    #[arg(long, default_value = "peerjs")]
    key: String,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    Idle {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Server process whose RSS to sample.
        #[arg(long)]
        pid: Option<u32>,
        /// How long to hold the clients open after the last one connected.
        #[arg(long, default_value_t = 10)]
        hold: u64,
    },
    Relay {
        #[arg(long, default_value_t = 50)]
        pairs: usize,
        /// Total messages per second over all pairs; 0 = as fast as possible.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Bytes of padding in each payload (a trickled ICE candidate is ~150-300).
        #[arg(long, default_value_t = 200)]
        pad: usize,
        /// Messages a sender may have in flight in `--rate 0` mode.
        #[arg(long, default_value_t = 64)]
        window: u64,
    },
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn connect(args: &Args, id: &str) -> anyhow::Result<Ws> {
    let url = format!("{}?key={}&id={id}&token=t{id}", args.url, args.key);
    // Small client buffers so the generator itself fits tens of thousands of sockets.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = connect_async_with_config(url, Some(config), true).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("OPEN") => Ok(ws),
        other => anyhow::bail!("{id}: expected OPEN, got {other:?}"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    match args.mode {
        Mode::Idle { clients, pid, hold } => idle(args.clone(), clients, pid, hold).await,
        Mode::Relay {
            pairs,
            rate,
            seconds,
            pad,
            window,
        } => relay(args.clone(), pairs, rate, seconds, pad, window).await,
    }
}

async fn idle(args: Arc<Args>, clients: usize, pid: Option<u32>, hold: u64) -> anyhow::Result<()> {
    let before = pid.and_then(rss_kib);
    let started = Instant::now();
    let opened = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(clients);
    let gate = Arc::new(tokio::sync::Semaphore::new(200));
    for i in 0..clients {
        let (args, opened, gate) = (args.clone(), opened.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("semaphore open");
            let mut ws = connect(&args, &format!("idle{i}")).await?;
            drop(permit);
            opened.fetch_add(1, Ordering::Relaxed);
            let mut beat = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = beat.tick() => ws.send(Message::text(r#"{"type":"HEARTBEAT"}"#)).await?,
                    m = ws.next() => match m {
                        Some(Ok(_)) => {}
                        _ => anyhow::bail!("idle{i} closed"),
                    },
                }
            }
            #[allow(unreachable_code)]
            Ok::<(), anyhow::Error>(())
        }));
    }
    while (opened.load(Ordering::Relaxed) as usize) < clients {
        if tasks.iter().any(|t| t.is_finished()) {
            anyhow::bail!(
                "a client failed while connecting ({} open)",
                opened.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{clients} clients open after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(hold)).await;
    if let (Some(pid), Some(before)) = (pid, before) {
        let after = rss_kib(pid).unwrap_or(0);
        println!(
            "server RSS {before} KiB -> {after} KiB: {:.2} KiB per idle client",
            (after.saturating_sub(before)) as f64 / clients as f64
        );
    }
    if tasks.iter().any(|t| t.is_finished()) {
        anyhow::bail!("some clients were dropped while idle");
    }
    Ok(())
}

async fn relay(
    args: Arc<Args>,
    pairs: usize,
    rate: u64,
    seconds: u64,
    pad: usize,
    window: u64,
) -> anyhow::Result<()> {
    let run = format!("{}", std::process::id());
    let epoch = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    let padding = "x".repeat(pad);
    for p in 0..pairs {
        let rx = connect(&args, &format!("rx{run}-{p}")).await?;
        let tx = connect(&args, &format!("tx{run}-{p}")).await?;
        let counter = Arc::new(AtomicU64::new(0));
        receivers.push((rx, counter.clone()));
        senders.push((tx, counter, format!("rx{run}-{p}")));
    }
    let deadline = Duration::from_secs(seconds);
    let mut rx_tasks = Vec::new();
    for (mut rx, counter) in receivers {
        let (received, errors) = (received.clone(), errors.clone());
        rx_tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_secs(2), rx.next()).await
            {
                let Message::Text(text) = m else { continue };
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if v["type"] != "OFFER" {
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let sent = v["payload"]["t"].as_u64().unwrap_or(0);
                latencies.push(epoch.elapsed().as_micros() as u64 - sent);
                counter.fetch_add(1, Ordering::Relaxed);
                received.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        }));
    }
    let start = Instant::now();
    let mut tx_tasks = Vec::new();
    for (mut tx, delivered, dst) in senders {
        let padding = padding.clone();
        let errors = errors.clone();
        tx_tasks.push(tokio::spawn(async move {
            let per_pair = if rate == 0 {
                0
            } else {
                (rate / pairs as u64).max(1)
            };
            let mut tick = (per_pair > 0).then(|| {
                let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / per_pair as f64));
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                i
            });
            let mut sent = 0u64;
            while start.elapsed() < deadline {
                match &mut tick {
                    Some(tick) => {
                        tick.tick().await;
                    }
                    None => {
                        // Frames dropped by the server (rate limit) never arrive: give up on
                        // them after a while instead of waiting forever.
                        let stalled = Instant::now();
                        while sent - delivered.load(Ordering::Relaxed) >= window {
                            if stalled.elapsed() > Duration::from_secs(1) {
                                errors.fetch_add(1, Ordering::Relaxed);
                                sent = delivered.load(Ordering::Relaxed);
                                break;
                            }
                            tokio::task::yield_now().await;
                        }
                    }
                }
                let t = epoch.elapsed().as_micros() as u64;
                let frame = format!(
                    r#"{{"type":"OFFER","dst":"{dst}","payload":{{"t":{t},"pad":"{padding}"}}}}"#
                );
                if tx.send(Message::text(frame)).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                sent += 1;
                // Drain replies (ERROR frames would mean rate limiting) without blocking.
                while let Some(Some(Ok(Message::Text(_)))) =
                    futures_util::FutureExt::now_or_never(tx.next())
                {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            sent
        }));
    }
    let mut sent = 0;
    // A sender's count only covers what it did not give up on; the receivers' is exact.
    for t in tx_tasks {
        sent += t.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    for t in rx_tasks {
        latencies.extend(t.await?);
    }
    latencies.sort_unstable();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "sent {sent}, received {} ({:.0} msg/s), errors {}, latency µs p50 {} p99 {} p99.9 {} max {}",
        received.load(Ordering::Relaxed),
        latencies.len() as f64 / elapsed,
        errors.load(Ordering::Relaxed),
        pct(0.5),
        pct(0.99),
        pct(0.999),
        latencies.last().copied().unwrap_or(0)
    );
    Ok(())
}
