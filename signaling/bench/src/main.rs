//! `signal-load`: a load benchmark (not a test) of Parley's signaling server against PeerServer.
//!
//! One run starts, one after the other, PeerServer (npm `peer`) and parley-signal as child
//! processes pinned to one core, and drives each from this process pinned to another core:
//! PeerServer over PeerJS, parley-signal over PeerJS, parley-signal over its own v1 protocol.
//! Same workload for each: idle clients (memory, connect rate), then relay between client pairs
//! (closed-loop saturation, open-loop latency at fixed rates). Builds nothing: run
//! `cargo build --release -p parley-signal` first (or `signaling/bench/run.sh`).

// A benchmark prints its progress and figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// libc calls pin threads, raise scheduling priority and read resource usage.
#![allow(unsafe_code)]

mod idle;
mod proto;
mod relay;
mod report;
mod seed;
mod server;
mod sys;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::proto::Proto;
use crate::server::{Launch, ServerProc};

#[derive(Parser, Debug)]
#[command(name = "signal-load", about = "Load benchmark: parley-signal vs PeerServer")]
pub struct Args {
    /// Small, short phases for a smoke run (< 30 s); explicit flags still win.
    #[arg(long)]
    quick: bool,
    /// Servers/protocols to run, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "peerserver,parley-peerjs,parley-v1"
    )]
    targets: Vec<Target>,
    /// Idle clients to open [default: 19500; quick: 300]. Mind `ulimit -n` (each side holds N sockets).
    #[arg(long)]
    clients: Option<usize>,
    /// v1 clients signed in to each account: the bench seeds one account per this many clients
    /// into the server's database (1: every client is a different user).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    devices_per_user: u64,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Pause before reading the server's RSS [default: 3; quick: 0.3].
    #[arg(long)]
    settle_secs: Option<f64>,
    /// Relay clients, in pairs [default: 1000; quick: 100].
    #[arg(long)]
    relay_clients: Option<usize>,
    /// Closed-loop ramp-up not measured [default: 1; quick: 0.3].
    #[arg(long)]
    warmup_secs: Option<f64>,
    /// Closed-loop measuring window (0 skips it) [default: 5; quick: 1].
    #[arg(long)]
    closed_secs: Option<f64>,
    /// Length of each open-loop phase [default: 5; quick: 1].
    #[arg(long)]
    open_secs: Option<f64>,
    /// Open-loop total rates, messages/s [default: 1000,10000,50000; quick: 1000,10000].
    #[arg(long, value_delimiter = ',')]
    rates: Option<Vec<u64>>,
    /// Longest wait for stragglers after an open-loop phase; what is still missing is lost.
    #[arg(long)]
    drain_secs: Option<f64>,
    /// Extra bytes of padding in every relayed payload (a real SDP offer is 1–4 KB).
    #[arg(long, default_value_t = 0)]
    pad: usize,
    /// Open loop: the scheduler thread wakes at most once per this many µs and sends what is
    /// due in one batch (a message may leave up to this late; it counts in its latency).
    #[arg(long, default_value_t = 200)]
    tick_quantum_us: u64,
    /// Skip the idle-clients phase.
    #[arg(long)]
    skip_idle: bool,
    /// Skip the relay phases.
    #[arg(long)]
    skip_relay: bool,
    /// parley-signal binary (build it first: `cargo build --release -p parley-signal`).
    #[arg(long, default_value = "target/release/parley-signal")]
    parley_bin: PathBuf,
    /// Extra argument for parley-signal (repeatable), e.g. `--parley-arg=--ws-send-queue=4096`.
    #[arg(long, allow_hyphen_values = true)]
    parley_arg: Vec<String>,
    /// The npm project that holds PeerServer (`npm ci` there first).
    #[arg(long, default_value = "signaling/bench/peerserver")]
    peerserver_dir: PathBuf,
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// WebSocket path of the PeerJS endpoint (PeerServer started with `--path /peerjs`).
    #[arg(long, default_value = "/peerjs/peerjs")]
    peerjs_path: String,
    #[arg(long, default_value = "peerjs")]
    peerjs_key: String,
    /// Core for the servers.
    #[arg(long, default_value_t = 0)]
    server_core: usize,
    /// Core for this load generator.
    #[arg(long, default_value_t = 1)]
    client_core: usize,
    /// Do not pin anything.
    #[arg(long)]
    no_pin: bool,
    /// Run this process and the servers under SCHED_RR (priority 1): on a machine busy with
    /// builds, they then take their cores at once instead of queueing behind compilers.
    /// Needs root (or CAP_SYS_NICE); the kernel still leaves 5% of each second to others.
    #[arg(long)]
    realtime: bool,
    /// Before each server, wait up to this long for other processes to leave the CPUs alone
    /// (this machine is shared with builders); the table's 'other' CPU shows what remained
    /// [default: 120; quick: 0].
    #[arg(long)]
    quiet_wait_secs: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// PeerServer (npm `peer`) over PeerJS.
    Peerserver,
    /// parley-signal's PeerJS-compatible endpoint.
    ParleyPeerjs,
    /// parley-signal's API v1.
    ParleyV1,
    /// Two parley-signal nodes sharing one Redis (`--redis`), API v1, every pair split across
    /// the nodes so that every signal crosses Redis. Not in the default run: relay phases only.
    ParleyCluster,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Peerserver => "PeerServer",
            Target::ParleyPeerjs => "parley/PeerJS",
            Target::ParleyV1 => "parley/v1",
            Target::ParleyCluster => "parley/v1 2 nodes",
        }
    }
}

pub struct TargetResult {
    pub target: Target,
    pub idle: Option<idle::IdleResult>,
    pub relay: Option<relay::RelayResult>,
    pub errors: Vec<String>,
}

fn secs(v: Option<f64>, normal: f64, quick: f64, is_quick: bool) -> Duration {
    Duration::from_secs_f64(v.unwrap_or(if is_quick { quick } else { normal }).max(0.0))
}

fn main() {
    let args = Args::parse();
    sys::init_clock();
    if !args.no_pin {
        if let Err(e) = sys::pin_to_core(args.client_core) {
            eprintln!(
                "warning: cannot pin the load generator to core {}: {e}",
                args.client_core
            );
        }
    }
    if args.realtime {
        if let Err(e) = sys::realtime() {
            eprintln!("warning: cannot switch to SCHED_RR: {e}");
        }
    }
    let nofile = sys::raise_nofile_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let results = local.block_on(&runtime, run(&args, nofile));
    report::print(&args, &results);
}

async fn run(args: &Args, nofile: u64) -> Vec<TargetResult> {
    let q = args.quick;
    let clients = args.clients.unwrap_or(if q { 300 } else { 19_500 });
    let relay_clients = args.relay_clients.unwrap_or(if q { 100 } else { 1000 });
    if !args.skip_idle && clients as u64 + 100 > nofile {
        eprintln!(
            "warning: open-file limit {nofile} is below {clients} clients + margin; \
             run `ulimit -n 20000` first or lower --clients"
        );
    }
    let idle_opts = idle::IdleOpts {
        clients,
        concurrency: args.connect_concurrency,
        settle: secs(args.settle_secs, 3.0, 0.3, q),
        connect_deadline: Duration::from_secs(if q { 20 } else { 300 }),
    };
    let relay_opts = relay::RelayOpts {
        clients: relay_clients,
        concurrency: args.connect_concurrency,
        warmup: secs(args.warmup_secs, 1.0, 0.3, q),
        closed: secs(args.closed_secs, 5.0, 1.0, q),
        open: secs(args.open_secs, 5.0, 1.0, q),
        rates: args.rates.clone().unwrap_or(if q {
            vec![1000, 10_000]
        } else {
            vec![1000, 10_000, 50_000]
        }),
        drain: secs(args.drain_secs, 5.0, 1.0, q),
        pad: args.pad,
        tick_quantum: Duration::from_micros(args.tick_quantum_us),
    };
    let core = (!args.no_pin).then_some(args.server_core);
    let mut results = Vec::new();
    for (run_index, &target) in args.targets.iter().enumerate() {
        eprintln!("==> {}", target.label());
        wait_quiet(secs(args.quiet_wait_secs, 120.0, 0.0, q)).await;
        let mut result = TargetResult {
            target,
            idle: None,
            relay: None,
            errors: Vec::new(),
        };
        if let Err(e) = run_target(args, target, run_index, core, &idle_opts, &relay_opts, &mut result).await {
            eprintln!("    error: {e}");
            result.errors.push(e);
        }
        results.push(result);
    }
    results
}

/// Waits until the machine was below 15% of a core busy for a second, or `max` has passed.
async fn wait_quiet(max: Duration) {
    if max.is_zero() {
        return;
    }
    let deadline = std::time::Instant::now() + max;
    let mut said = false;
    loop {
        let before = sys::machine_busy_secs();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let busy = sys::machine_busy_secs() - before;
        if busy < 0.15 {
            return;
        }
        if std::time::Instant::now() >= deadline {
            eprintln!(
                "    warning: the machine is still busy ({:.0}% of a core): figures will be noisy (--realtime helps)",
                busy * 100.0
            );
            return;
        }
        if !said {
            eprintln!(
                "    waiting for other processes to quiet down ({:.0}% of a core busy)",
                busy * 100.0
            );
            said = true;
        }
    }
}

async fn run_target(
    args: &Args,
    target: Target,
    run_index: usize,
    core: Option<usize>,
    idle_opts: &idle::IdleOpts,
    relay_opts: &relay::RelayOpts,
    result: &mut TargetResult,
) -> Result<(), String> {
    if target == Target::ParleyCluster {
        return run_cluster(args, run_index, core, relay_opts, result).await;
    }
    let port = server::free_port().map_err(|e| format!("no free port: {e}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let limit = (idle_opts.clients + relay_opts.clients + 1000).max(25_000);
    let log = std::env::temp_dir().join(format!("signal-load-{}.log", target.label().replace('/', "-")));
    let db_path = std::env::temp_dir().join(format!("signal-load-{}.db", std::process::id()));
    let launch = match target {
        Target::Peerserver => {
            let script = args.peerserver_dir.join("node_modules/peer/dist/bin/peerjs.js");
            if !script.exists() {
                return Err(format!(
                    "{} missing: run `npm ci` in {}",
                    script.display(),
                    args.peerserver_dir.display()
                ));
            }
            Launch {
                program: args.node.clone(),
                args: vec![
                    script.display().to_string(),
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    port.to_string(),
                    "--key".into(),
                    args.peerjs_key.clone(),
                    "--path".into(),
                    "/peerjs".into(),
                    "--concurrent_limit".into(),
                    limit.to_string(),
                ],
                log,
                addr,
                core,
                ready_marker: "Started PeerServer",
            }
        }
        Target::ParleyPeerjs | Target::ParleyV1 | Target::ParleyCluster => {
            if !args.parley_bin.exists() {
                return Err(format!(
                    "{} missing: run `cargo build --release -p parley-signal`",
                    args.parley_bin.display()
                ));
            }
            // v1 clients sign in to accounts seeded into a database file; PeerJS needs none.
            let db = match target {
                Target::ParleyV1 => {
                    remove_db(&db_path);
                    vec!["--db".to_string(), db_path.display().to_string()]
                }
                _ => vec!["--memory-db".to_string()],
            };
            let mut server_args = parley_args(
                args,
                addr,
                &[
                    "--peerjs-key",
                    &args.peerjs_key,
                    "--peerjs-concurrent-limit",
                    &limit.to_string(),
                ],
            );
            server_args.extend(db);
            Launch {
                program: args.parley_bin.clone(),
                args: server_args,
                log,
                addr,
                core,
                ready_marker: "listening on",
            }
        }
    };
    let server = ServerProc::start(launch).await?;
    let proto = match target {
        Target::ParleyV1 => {
            let per_user = args.devices_per_user as usize;
            let accounts = idle_opts.clients.max(relay_opts.clients).div_ceil(per_user);
            let started = std::time::Instant::now();
            let tokens = seed::seed(&db_path, accounts)?;
            eprintln!(
                "    seeded {accounts} accounts ({per_user} client(s) each) in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Proto::V1 {
                tokens: tokens.into(),
                devices_per_user: per_user,
            }
        }
        _ => Proto::PeerJs {
            path: args.peerjs_path.clone(),
            key: args.peerjs_key.clone(),
        },
    };
    // Every phase connects from its own loopback address: no fight over ephemeral ports or
    // TIME_WAIT left by the phase before.
    let src = |phase: u8| Ipv4Addr::new(127, 0, 10 + run_index as u8, 1 + phase);
    tokio::time::sleep(idle_opts.settle).await;

    if !args.skip_idle {
        match proto.users_for(idle_opts.clients) {
            0 => eprintln!("    idle: {} clients", idle_opts.clients),
            users => eprintln!("    idle: {} clients, {users} distinct users", idle_opts.clients),
        }
        let r = idle::run(&server, &proto, idle_opts, src(0)).await;
        eprintln!(
            "      {} held, {:.0} clients/s, RSS {:.1} → {:.1} MiB, {:.2} KiB/client",
            r.held(),
            r.connect_rate(),
            r.rss_before_kib as f64 / 1024.0,
            r.rss_after_kib as f64 / 1024.0,
            r.kib_per_client().unwrap_or(f64::NAN)
        );
        if let Some(e) = &r.first_error {
            result.errors.push(format!("idle: {} failed, first: {e}", r.failed));
        }
        result.idle = Some(r);
    }
    if !args.skip_relay {
        relay_phases(
            &relay::Servers::one(&server),
            &proto,
            relay_opts,
            src(1),
            run_index,
            result,
        )
        .await;
    }
    server.stop().await;
    if target == Target::ParleyV1 {
        remove_db(&db_path);
    }
    Ok(())
}

/// parley-signal's command line for a run: its address, `extra`, limits that would otherwise
/// throttle the load generator (every client comes from one machine), then `--parley-arg`s.
fn parley_args(args: &Args, addr: SocketAddr, extra: &[&str]) -> Vec<String> {
    let addr = addr.to_string();
    let limits = [
        "--auth-per-minute",
        "100000",
        "--ws-frames-per-sec",
        "1000000",
        "--ws-frame-burst",
        "1000000",
    ];
    ["--listen", addr.as_str()]
        .into_iter()
        .chain(extra.iter().copied())
        .chain(limits)
        .map(str::to_string)
        .chain(args.parley_arg.iter().cloned())
        .collect()
}

/// Removes a SQLite database and its WAL files.
fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

async fn relay_phases(
    servers: &relay::Servers,
    proto: &Proto,
    relay_opts: &relay::RelayOpts,
    src: Ipv4Addr,
    run_index: usize,
    result: &mut TargetResult,
) {
    eprintln!("    relay: {} clients", relay_opts.clients);
    let tag = format!("r{run_index}");
    match relay::run(servers, proto, relay_opts, src, &tag).await {
        Ok(r) => {
            for (name, phase) in r
                .closed
                .iter()
                .map(|p| ("closed loop".to_string(), p))
                .chain(r.open.iter().map(|(rate, p)| (format!("{rate}/s"), p)))
            {
                if let Some(e) = &phase.first_error {
                    result
                        .errors
                        .push(format!("relay {name}: {} error frames, first: {e}", phase.errors));
                }
                if phase.disconnects > 0 {
                    result
                        .errors
                        .push(format!("relay {name}: {} clients disconnected", phase.disconnects));
                }
            }
            result.relay = Some(r);
        }
        Err(e) => result.errors.push(format!("relay: {e}")),
    }
}

/// Two parley-signal nodes and their Redis, all on the servers' core; the relay clients
/// alternate between the nodes, so every pair spans both and every signal goes through Redis.
/// The server CPU figures add up the two nodes and Redis.
async fn run_cluster(
    args: &Args,
    run_index: usize,
    core: Option<usize>,
    relay_opts: &relay::RelayOpts,
    result: &mut TargetResult,
) -> Result<(), String> {
    let free = || server::free_port().map_err(|e| format!("no free port: {e}"));
    let redis_port = free()?;
    let redis = ServerProc::start(Launch {
        program: "redis-server".into(),
        args: [
            "--bind",
            "127.0.0.1",
            "--port",
            &redis_port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        log: std::env::temp_dir().join("signal-load-redis.log"),
        addr: SocketAddr::from(([127, 0, 0, 1], redis_port)),
        core,
        ready_marker: "Ready to accept connections",
    })
    .await
    .map_err(|e| format!("redis-server ({e}); `scripts/setup.sh test` installs it"))?;
    let url = format!("redis://127.0.0.1:{redis_port}/0");
    let mut nodes = Vec::new();
    for n in 0..2 {
        let addr = SocketAddr::from(([127, 0, 0, 1], free()?));
        let node_args = parley_args(args, addr, &["--redis", &url]);
        nodes.push(
            ServerProc::start(Launch {
                program: args.parley_bin.clone(),
                args: node_args,
                log: std::env::temp_dir().join(format!("signal-load-node-{n}.log")),
                addr,
                core,
                ready_marker: "listening on",
            })
            .await?,
        );
    }
    let per_user = args.devices_per_user as usize;
    let accounts = relay_opts.clients.div_ceil(per_user);
    let tokens = seed::seed_redis(&url, accounts)?;
    eprintln!("    seeded {accounts} accounts into Redis");
    let proto = Proto::V1 {
        tokens: tokens.into(),
        devices_per_user: per_user,
    };
    if !args.skip_idle {
        eprintln!("    idle: skipped (an idle client costs a node what it costs a single server)");
    }
    if !args.skip_relay {
        let servers = relay::Servers {
            addrs: nodes.iter().map(|n| n.addr).collect(),
            pids: nodes.iter().map(|n| n.pid).chain([redis.pid]).collect(),
        };
        let src = Ipv4Addr::new(127, 0, 10 + run_index as u8, 2);
        relay_phases(&servers, &proto, relay_opts, src, run_index, result).await;
    }
    for node in nodes {
        node.stop().await;
    }
    redis.stop().await;
    Ok(())
}
