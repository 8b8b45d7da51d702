//! Parley across the network lab's separate stacks (`docs/testing-networks.md`), as people
//! wait for it: real `parley-signal`, `parley-cli` and coturn processes on a LAN, behind two
//! home NATs (direct through them) and behind a symmetric NAT (relayed by TURN).
//!
//! - Start to a usable chat: a message waits in Ann's outbox while Bob is offline; from the
//!   moment Bob's app starts until Ann's message is delivered (his sign-in, joining the room,
//!   ICE, the identity handshake and the delivery), and from his room join until then.
//! - Chat round trip: Ann sends, until her `delivered` (Bob's device stored it and said so);
//!   sequential.
//! - A file: from offering it until the receiver verified it.
//!
//! Needs root (namespaces), coturn, and a session keyring shared by the processes; release
//! builds of the programs:
//! `cargo build --release -p parley-cli -p parley-signal && keyctl session - env
//! PARLEY_TEST_KEYUTILS=1 cargo bench -p parley-tests --bench network`. Knobs: `START_RUNS`
//! (5), `RTT_MESSAGES` (200), `FILE_MIB` (32). Without `--bench` (as the test command runs it):
//! one short round on the LAN, a smoke run.

// A benchmark prints its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::time::{Duration, Instant};

use parley_signal::test_utils::bench::{env_usize, is_real_run, ms, percentile, runtime};
use parley_tests::lab_apps::{internet, lab, random_file, send_file, Person, Signal};
use parley_tests::netlab::{Host, LabOptions, NatKind, NetLab};

struct Figures {
    name: &'static str,
    route: String,
    start: Vec<Duration>,
    join_to_chat: Vec<Duration>,
    rtt: Vec<Duration>,
    file_mb_s: f64,
}

/// Where the two people are and which server they use.
#[derive(Clone, Copy)]
enum Place {
    Lan,
    HomeNats,
    SymmetricNat,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Lan => "LAN (direct)",
            Place::HomeNats => "two home NATs (direct)",
            Place::SymmetricNat => "symmetric NAT (TURN)",
        }
    }

    fn options(self) -> LabOptions {
        match self {
            Place::SymmetricNat => LabOptions::default(),
            Place::Lan | Place::HomeNats => LabOptions {
                home_b: NatKind::Cone,
                ..LabOptions::default()
            },
        }
    }
}

/// The server for `place` and the hosts Ann and Bob run on; what must stay alive with them.
async fn set_up(
    place: Place,
    lab: &mut NetLab,
    dir: &Path,
) -> (Signal, Option<parley_tests::netlab::Coturn>, Host, Host) {
    match place {
        Place::Lan => {
            let host = lab.add_lan_host("lan_srv").unwrap_or_else(|e| panic!("{e}"));
            let signal = Signal::start(&host, &dir.join("tls"), &[]).await;
            (signal, None, lab.lan_a.clone(), lab.lan_b.clone())
        }
        Place::HomeNats | Place::SymmetricNat => {
            let (signal, coturn) = internet(lab, dir).await;
            (signal, Some(coturn), lab.home_a.clone(), lab.home_b.clone())
        }
    }
}

async fn measure(place: Place, start_runs: usize, rtt_messages: usize, file_mib: usize) -> Figures {
    let (mut lab, _turn) = lab(place.options()).await;
    let dir = tempfile::tempdir().unwrap();
    let (signal, _coturn, ann_host, bob_host) = set_up(place, &mut lab, dir.path()).await;
    let ann = Person::register(&ann_host, dir.path(), "ann", &signal.invite).await;
    let bob = Person::register(&bob_host, dir.path(), "bob", &signal.invite).await;
    let room = "bench";
    let mut a = ann.online(room).await;

    // They meet once, so each knows the other (a contact is someone met in a room).
    let mut b = Some(bob.online(room).await);
    let id = a.send("bob", "hello").await;
    a.delivered(&id).await;

    let mut start = Vec::new();
    let mut join_to_chat = Vec::new();
    for run in 0..start_runs {
        // Bob is offline: the message waits in Ann's outbox.
        drop(b.take());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = a.send("bob", &format!("waiting {run}")).await;
        let started = Instant::now();
        let mut online = bob.start_online(room).await;
        let joined = online.joined().await;
        a.delivered(&id).await;
        let delivered = Instant::now();
        start.push(delivered - started);
        join_to_chat.push(delivered - joined);
        b = Some(online);
    }
    let mut b = b.expect("at least one run");
    let route = a.route().await;

    let mut rtt = Vec::with_capacity(rtt_messages);
    for n in 0..rtt_messages {
        let sent = Instant::now();
        let id = a.send("bob", &format!("ping {n}")).await;
        a.delivered(&id).await;
        rtt.push(sent.elapsed());
    }

    let file = dir.path().join("bench.bin");
    random_file(&file, file_mib * 1024 * 1024);
    let sent = Instant::now();
    send_file(&mut a, &mut b, "bob", &file).await;
    let file_mb_s = (file_mib * 1024 * 1024) as f64 / 1e6 / sent.elapsed().as_secs_f64();
    Figures {
        name: place.name(),
        route,
        start,
        join_to_chat,
        rtt,
        file_mb_s,
    }
}

fn main() {
    let real = is_real_run();
    let start_runs = if real { env_usize("START_RUNS", 5) } else { 1 };
    let rtt_messages = if real { env_usize("RTT_MESSAGES", 200) } else { 10 };
    let file_mib = if real { env_usize("FILE_MIB", 32) } else { 1 };
    let places: &[Place] = if real {
        &[Place::Lan, Place::HomeNats, Place::SymmetricNat]
    } else {
        &[Place::Lan]
    };
    let rt = runtime();
    let mut table = Vec::new();
    for place in places {
        let figures = rt.block_on(measure(*place, start_runs, rtt_messages, file_mib));
        table.push(figures);
    }
    if !real {
        println!("network bench smoke run: ok (run with --bench for figures)");
        return;
    }
    println!(
        "\n{START_RUNS} start-ups, {rtt_messages} round trips and a {file_mib} MiB file per place",
        START_RUNS = start_runs
    );
    println!("| | route | start → chat p50 (max) | room join → chat p50 | round trip p50 / p99 | file |");
    println!("|---|---|---|---|---|---|");
    for f in &mut table {
        f.start.sort();
        f.join_to_chat.sort();
        f.rtt.sort();
        println!(
            "| {} | {} | {} ({}) ms | {} ms | {} / {} ms | {:.1} MB/s |",
            f.name,
            f.route,
            ms(percentile(&f.start, 0.5)),
            ms(*f.start.last().unwrap()),
            ms(percentile(&f.join_to_chat, 0.5)),
            ms(percentile(&f.rtt, 0.5)),
            ms(percentile(&f.rtt, 0.99)),
            f.file_mb_s
        );
    }
}
