//! End-to-end benchmark of two full app cores on loopback, through a real signaling server in
//! this process: what a user waits for, not what one layer does.
//!
//! - Channel set-up ("click to open a chat"): `Parley::open_conversation(user)` until both
//!   sides have reported `Connected`. Between runs the second user restarts the app (a new peer
//!   id, so a brand-new connection each time, and either side may be the offerer).
//! - Message round trip: `Parley::send_message` until the sender's `MessageState delivered`
//!   event, i.e.
//!   stored locally, sent over the data channel, stored by the receiver, its ack back and
//!   recorded. Sequential, one message in flight.
//!
//! `cargo bench -p parley-tests --bench core`. Knobs: `SETUP_RUNS` (20), `RTT_MESSAGES`
//! (10000), `RTT_WARMUP` (200). Goals: set-up under 100 ms, round trip p99 under 2 ms. Run
//! without `--bench` (as `cargo test --all-targets` does) it is a quick smoke run.

// A benchmark prints its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use parley_core::{CoreEvent, DeliveryState};
use parley_signal::test_utils::bench::{env_usize, is_real_run, ms, percentile, runtime};
use parley_tests::{is_state, Person, TestServer};

const SETUP_GOAL: Duration = Duration::from_millis(100);
const RTT_P99_GOAL: Duration = Duration::from_millis(2);

/// Waits for `Connected` to `user_id` on `person`; the instant it was seen.
async fn connected_at(person: &mut Person, user_id: &str) -> Instant {
    person
        .wait_for("the channel", |e| {
            matches!(e, CoreEvent::Connected { user_id: u, .. } if u == user_id).then(Instant::now)
        })
        .await
}

async fn bench_setup(alice: &mut Person, bob: &mut Person, runs: usize) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut alice_offered = 0;
    let mut bob_peer = alice.wait_for_peer(bob.id()).await;
    for run in 0..runs {
        if run > 0 {
            // A fresh connection: bob quits (alice sees him leave) and starts again.
            alice.mark();
            bob.quit().await;
            let old_peer = bob_peer.clone();
            alice
                .wait_for("bob leaving", |e| {
                    matches!(e, CoreEvent::PeerLeft { peer_id, .. } if *peer_id == old_peer).then_some(())
                })
                .await;
            alice.mark();
            bob.reopen_offline().await;
            bob.sign_in().await;
            bob.go_online("bench").await;
            bob_peer = alice.wait_for_peer(bob.id()).await;
        }
        // The smaller peer id offers; the other side asks it to (one more relay hop).
        if alice.peer_id().as_deref() < Some(bob_peer.as_str()) {
            alice_offered += 1;
        }
        alice.mark();
        bob.mark();
        let (alice_id, bob_id) = (alice.id().to_owned(), bob.id().to_owned());
        let start = Instant::now();
        alice
            .parley()
            .open_conversation(&bob_id)
            .await
            .expect("bob is a contact");
        let (a, b) = tokio::join!(connected_at(alice, &bob_id), connected_at(bob, &alice_id));
        times.push(a.max(b) - start);
    }
    (times, alice_offered)
}

/// Round trips, and how long `send_message` itself took (stored, handed to the channel).
async fn bench_rtt(
    alice: &mut Person,
    bob: &mut Person,
    warmup: usize,
    messages: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut times = Vec::with_capacity(messages);
    let mut local = Vec::with_capacity(messages);
    let to = bob.user.clone();
    for i in 0..warmup + messages {
        alice.mark();
        let body = format!("message {i}: the quick brown fox jumps over the lazy dog");
        let start = Instant::now();
        let message = alice.parley().send_message(&to.id, &body, None).await.expect("send");
        let returned = start.elapsed();
        let id = message.id;
        alice
            .wait_for("delivered", |e| {
                is_state(e, &id, DeliveryState::Delivered).then_some(())
            })
            .await;
        if i >= warmup {
            times.push(start.elapsed());
            local.push(returned);
        }
        // Keep the receiver's queue (and the sender's log) from growing for nothing.
        bob.drain();
    }
    (times, local)
}

fn row(what: &str, sorted: &[Duration]) {
    println!(
        "{:<44} {:>7} {:>7} {:>7} {:>7} {:>7}",
        what,
        ms(sorted[0]),
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.9)),
        ms(percentile(sorted, 0.99)),
        ms(sorted[sorted.len() - 1]),
    );
}

fn main() {
    let runtime = runtime();
    // `cargo test --all-targets` runs benches too, without `--bench`: a quick smoke run then.
    let smoke = !is_real_run();
    let runs = env_usize("SETUP_RUNS", if smoke { 3 } else { 20 });
    let messages = env_usize("RTT_MESSAGES", if smoke { 200 } else { 10_000 });
    let warmup = env_usize("RTT_WARMUP", if smoke { 20 } else { 200 });
    runtime.block_on(async {
        let server = TestServer::start().await;
        let mut alice = Person::register(&server, "alice").await;
        let mut bob = Person::register(&server, "bob").await;
        alice.go_online("bench").await;
        bob.go_online("bench").await;

        let (mut setup, alice_offered) = bench_setup(&mut alice, &mut bob, runs).await;
        let wall = Instant::now();
        let (mut rtt, mut local) = bench_rtt(&mut alice, &mut bob, warmup, messages).await;
        let wall = wall.elapsed();
        setup.sort();
        rtt.sort();
        local.sort();

        let mean = rtt.iter().sum::<Duration>() / rtt.len() as u32;
        println!();
        println!("parley-tests core bench: two parley-core front doors, loopback, in-process parley-signal");
        println!("{:-<78}", "");
        println!(
            "{:<44} {:>7} {:>7} {:>7} {:>7} {:>7}",
            "measurement (ms)", "min", "p50", "p90", "p99", "max"
        );
        row(&format!("channel set-up, {runs} runs"), &setup);
        row(&format!("message round trip, {messages} msgs"), &rtt);
        row("  of which send_message (store, hand over)", &local);
        println!("{:-<78}", "");
        let samples: Vec<String> = setup.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect();
        println!("set-up samples (ms): {}", samples.join(" "));
        println!(
            "set-up: the connecting side offered in {alice_offered} of {runs} runs (else it asked the other to offer)"
        );
        println!(
            "round trip: mean {} ms, {:.0} messages/s one at a time ({} warm-up messages not counted)",
            ms(mean),
            messages as f64 / wall.as_secs_f64(),
            warmup
        );
        let setup_p50 = percentile(&setup, 0.5);
        let setup_p90 = percentile(&setup, 0.9);
        let rtt_p99 = percentile(&rtt, 0.99);
        println!(
            "goals: set-up < {} ms: {} (p50 {} ms, p90 {} ms); round trip p99 < {} ms: {} ({} ms)",
            SETUP_GOAL.as_millis(),
            if setup_p90 < SETUP_GOAL { "met" } else { "MISSED" },
            ms(setup_p50),
            ms(setup_p90),
            RTT_P99_GOAL.as_millis(),
            if rtt_p99 < RTT_P99_GOAL { "met" } else { "MISSED" },
            ms(rtt_p99)
        );
        alice.quit().await;
        bob.quit().await;
    });
}
