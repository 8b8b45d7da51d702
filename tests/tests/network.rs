//! Parley between machines, proven on separate network stacks: real `parley-signal`,
//! `parley-cli` and coturn processes in the network namespaces of [`parley_tests::netlab`] (a
//! LAN, two homes behind NAT — one symmetric — and a server on "the internet"; see
//! `docs/testing-networks.md`). Every address is one the lab made; nothing leaves the machine.
//!
//! Needs root (namespaces) and a session keyring shared by the processes
//! (`keyctl session -`, `PARLEY_TEST_KEYUTILS=1`), as the test command runs it; anything missing
//! fails the test with what to do, never skips it.

// Tests report what they waited for.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::Stdio;
use std::time::Duration;

use parley_tests::lab_apps::{history, lab, random_file, same_bytes, send_file, two_homes, Person, Signal, PORT, STEP};
use parley_tests::netlab::{Host, LabOptions, NatKind};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_lan_two_people_chat_through_a_tls_server_known_by_its_invite_and_an_impostor_is_refused() {
    let (mut lab, _turn) = lab(LabOptions::default()).await;
    let server_host = lab.add_lan_host("lan_srv").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signal = Signal::start(&server_host, &dir.path().join("tls"), &[]).await;
    assert!(signal.url.starts_with("https://"), "{}", signal.url);

    let ann = Person::register(&lab.lan_a, dir.path(), "ann", &signal.invite).await;
    let bob = Person::register(&lab.lan_b, dir.path(), "bob", &signal.invite).await;
    let mut a = ann.online("lan").await;
    let mut b = bob.online("lan").await;
    let id = a.send("bob", "hello across the LAN").await;
    b.received("hello across the LAN").await;
    a.delivered(&id).await;
    assert_eq!(a.route().await, "direct", "two hosts on one LAN segment");
    drop((a, b));

    // The server goes and someone else answers at its address with another certificate: the
    // pinned client refuses it before sending the password.
    signal.stop().await;
    let impostor = Signal::start(&server_host, &dir.path().join("other-tls"), &[]).await;
    let refused = Person {
        server: impostor.url.clone(),
        ..ann
    }
    .run(&["login", "ann"])
    .await
    .expect_err("an impostor's certificate is refused");
    assert_eq!(refused["error"]["code"], "certificate_changed", "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_two_home_nats_people_connect_directly_through_them() {
    let (lab, _turn) = lab(LabOptions {
        home_b: NatKind::Cone,
        ..LabOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (_ann, mut a, _bob, mut b, _signal, _coturn) = two_homes(&lab, dir.path(), "homes").await;
    assert_eq!(a.route().await, "through-nat");
    assert_eq!(b.route().await, "through-nat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_symmetric_nat_chat_and_a_file_go_through_turn() {
    let (lab, _turn) = lab(LabOptions::default()).await;
    assert!(matches!(lab.options().home_b, NatKind::Symmetric));
    let dir = tempfile::tempdir().unwrap();
    let (_ann, mut a, _bob, mut b, _signal, _coturn) = two_homes(&lab, dir.path(), "relay").await;
    assert_eq!(a.route().await, "relayed");
    assert_eq!(b.route().await, "relayed");

    let file = dir.path().join("relayed.bin");
    random_file(&file, 3 * 1024 * 1024 + 17);
    let got = send_file(&mut a, &mut b, "bob", &file).await;
    assert!(same_bytes(&file, &got), "the relayed file arrived intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_loss_delay_and_a_cut_link_every_message_arrives_once_in_order_and_a_file_verifies() {
    let (lab, _turn) = lab(LabOptions {
        home_b: NatKind::Cone,
        ..LabOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (_ann, mut a, bob, mut b, _signal, _coturn) = two_homes(&lab, dir.path(), "faults").await;

    // 5% loss and 100 ms each way on ann's home uplink.
    lab.netem(&lab.nat_a, "delay 100ms loss 5%")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sent = vec!["hello from faults".to_owned()];
    let mut last = String::new();
    for n in 0..15 {
        let body = format!("lossy {n:02}");
        last = a.send("bob", &body).await;
        sent.push(body);
    }
    a.delivered(&last).await;
    let file = dir.path().join("lossy.bin");
    random_file(&file, 1024 * 1024 + 3);
    let got = send_file(&mut a, &mut b, "bob", &file).await;
    assert!(same_bytes(&file, &got), "the file verifies through loss and delay");

    // The line goes dead for 20 s; what is written meanwhile waits, then goes once.
    lab.cut(&lab.nat_a).unwrap();
    for n in 0..5 {
        let body = format!("during the cut {n}");
        last = a.send("bob", &body).await;
        sent.push(body);
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    lab.restore(&lab.nat_a).unwrap();
    for n in 0..3 {
        let body = format!("after the cut {n}");
        last = a.send("bob", &body).await;
        sent.push(body);
    }
    a.delivered(&last).await;
    for body in &sent[1..] {
        b.received(body).await;
    }
    lab.clear_netem(&lab.nat_a).unwrap();
    drop((a, b));

    let got = history(&bob, "ann").await;
    assert_eq!(got, sent, "every message once, in the order written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_server_is_found_on_its_lan_and_not_across_a_nat() {
    let (lab, _turn) = lab(LabOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let host = Person {
        host: lab.lan_a.clone(),
        name: "host".into(),
        profile: dir.path().join("host"),
        downloads: dir.path().join("host-downloads"),
        server: String::new(),
    };
    let mut share = host
        .command()
        .args(["share", "--port", &PORT.to_string(), "--local-port", "7890"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("parley-cli share starts");
    let mut out = BufReader::new(share.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(STEP, out.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let sharing: Value = serde_json::from_str(&line).unwrap();
    let invite = sharing["invites"][0].as_str().unwrap().to_owned();
    assert!(invite.contains(&lab.lan_a.addr.to_string()), "{invite}");

    let looker = |host: &Host, name: &str| Person {
        host: host.clone(),
        name: name.into(),
        profile: dir.path().join(name),
        downloads: dir.path().join(format!("{name}-downloads")),
        server: String::new(),
    };
    let on_lan = looker(&lab.lan_b, "neighbour")
        .run(&["discover", "--wait", "4"])
        .await
        .unwrap();
    assert_eq!(on_lan["invite"], invite.as_str(), "found on the same LAN: {on_lan}");
    assert_eq!(on_lan["fingerprint"], sharing["fingerprint"]);
    let far = looker(&lab.home_a, "stranger")
        .run(&["discover", "--wait", "4"])
        .await
        .unwrap();
    assert_eq!(far, Value::Null, "nothing found behind another NAT: {far}");

    // And the invite works from the LAN.
    let guest = Person::register(&lab.lan_b, dir.path(), "guest", &invite).await;
    assert_eq!(guest.run(&["whoami"]).await.unwrap()["username"], "guest");
    drop(share.stdin.take());
    let _ = tokio::time::timeout(STEP, share.wait()).await;
}
