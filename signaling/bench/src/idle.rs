//! Idle clients: open N connections with bounded concurrency, hold them, weigh the server.

use std::cell::{Cell, RefCell};
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{watch, Semaphore};
use tokio::time::{interval_at, timeout, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use crate::proto::{Proto, HEARTBEAT};
use crate::server::ServerProc;

pub struct IdleOpts {
    pub clients: usize,
    pub concurrency: usize,
    pub settle: Duration,
    /// Upper bound for opening all clients.
    pub connect_deadline: Duration,
}

#[derive(Debug, Default)]
pub struct IdleResult {
    pub wanted: usize,
    pub opened: usize,
    pub failed: usize,
    /// Opened, then closed by the server before the measurement.
    pub dropped: usize,
    /// Distinct accounts the clients signed in as (v1; 0 for PeerJS).
    pub users: usize,
    pub connect_secs: f64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub first_error: Option<String>,
}

impl IdleResult {
    pub fn held(&self) -> usize {
        self.opened - self.dropped
    }

    pub fn connect_rate(&self) -> f64 {
        self.opened as f64 / self.connect_secs.max(1e-9)
    }

    /// Growth of the server's RSS per held client; `None` when no client was held.
    pub fn kib_per_client(&self) -> Option<f64> {
        let held = self.held();
        (held > 0).then(|| (self.rss_after_kib as f64 - self.rss_before_kib as f64) / held as f64)
    }
}

#[derive(Default)]
struct Shared {
    opened: Cell<usize>,
    failed: Cell<usize>,
    dropped: Cell<usize>,
    alive: Cell<usize>,
    last_open: Cell<Option<Instant>>,
    first_error: RefCell<Option<String>>,
}

impl Shared {
    fn error(&self, e: String) {
        self.first_error.borrow_mut().get_or_insert(e);
    }
}

pub async fn run(server: &ServerProc, proto: &Proto, opts: &IdleOpts, src: Ipv4Addr) -> IdleResult {
    let rss_before_kib = server.rss_kib();
    let shared = Rc::new(Shared::default());
    let sem = Rc::new(Semaphore::new(opts.concurrency.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let start = Instant::now();
    for i in 0..opts.clients {
        let (shared, sem, proto, mut stop) = (shared.clone(), sem.clone(), proto.clone(), stop_rx.clone());
        let addr = server.addr;
        shared.alive.set(shared.alive.get() + 1);
        tokio::task::spawn_local(async move {
            let id = format!("idle{i}");
            let connected = tokio::select! {
                _ = stop.changed() => None,
                r = async {
                    let _permit = sem.acquire().await;
                    timeout(Duration::from_secs(15), proto.connect(addr, src, &id, i)).await
                } => Some(r),
            };
            match connected {
                Some(Ok(Ok((mut ws, _)))) => {
                    shared.opened.set(shared.opened.get() + 1);
                    shared.last_open.set(Some(Instant::now()));
                    // PeerJS clients say HEARTBEAT every 5 s; staggered so they do not come in waves.
                    let first = tokio::time::Instant::now() + Duration::from_millis(5000 + (i as u64 * 7919) % 5000);
                    let mut hb = interval_at(first, Duration::from_secs(5));
                    hb.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    let heartbeat = proto.is_peerjs();
                    loop {
                        tokio::select! {
                            _ = stop.changed() => {
                                let _ = timeout(Duration::from_secs(2), ws.close(None)).await;
                                break;
                            }
                            msg = ws.next() => match msg {
                                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                                    shared.dropped.set(shared.dropped.get() + 1);
                                    break;
                                }
                                Some(Ok(_)) => {}
                            },
                            _ = hb.tick(), if heartbeat => {
                                if ws.send(Message::Text(HEARTBEAT)).await.is_err() {
                                    shared.dropped.set(shared.dropped.get() + 1);
                                    break;
                                }
                            }
                        }
                    }
                }
                Some(Ok(Err(e))) => {
                    shared.failed.set(shared.failed.get() + 1);
                    shared.error(e);
                }
                Some(Err(_)) => {
                    shared.failed.set(shared.failed.get() + 1);
                    shared.error("no OPEN/welcome within 15 s".into());
                }
                None => {}
            }
            shared.alive.set(shared.alive.get() - 1);
        });
    }

    let deadline = start + opts.connect_deadline;
    let mut last_report = Instant::now();
    while shared.opened.get() + shared.failed.get() < opts.clients && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!("      … {} open, {} failed", shared.opened.get(), shared.failed.get());
        }
    }
    if Instant::now() >= deadline {
        shared.error(format!("connect deadline of {:?} reached", opts.connect_deadline));
    }
    let connect_secs = shared.last_open.get().map_or(0.0, |t| (t - start).as_secs_f64());
    tokio::time::sleep(opts.settle).await;
    let rss_after_kib = server.rss_kib();
    let result = IdleResult {
        wanted: opts.clients,
        opened: shared.opened.get(),
        failed: shared.failed.get(),
        dropped: shared.dropped.get(),
        users: proto.users_for(opts.clients),
        connect_secs,
        rss_before_kib,
        rss_after_kib,
        first_error: shared.first_error.borrow().clone(),
    };

    let _ = stop_tx.send(true);
    let close_deadline = Instant::now() + Duration::from_secs(30);
    while shared.alive.get() > 0 && Instant::now() < close_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the server finish tearing the connections down before the next phase.
    tokio::time::sleep(opts.settle.max(Duration::from_millis(500))).await;
    result
}
