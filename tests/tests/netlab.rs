//! The network lab (`parley_tests::netlab`) proves its own topology: who reaches whom, what
//! each kind of NAT does to ports, where multicast goes, that coturn answers and relays, and
//! that faults can be injected. Needs root: without it every test fails with the lab's
//! message saying so.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use parley_tests::netlab::{probe, stun, Coturn, Host, LabError, LabOptions, NatKind, NetLab, UdpEcho};

/// Long enough for any answer inside the lab, even shaped.
const REACH: Duration = Duration::from_secs(3);
/// How long silence must last to count as "unreachable"; inside one machine an answer takes
/// well under a millisecond.
const NO_REACH: Duration = Duration::from_millis(600);

fn lab() -> NetLab {
    lab_with(LabOptions::default())
}

fn lab_with(options: LabOptions) -> NetLab {
    NetLab::build(options).unwrap_or_else(|error| panic!("{error}"))
}

fn ok<T>(result: Result<T, LabError>) -> T {
    result.unwrap_or_else(|error| panic!("{error}"))
}

fn echo(host: &Host, port: u16) -> UdpEcho {
    ok(host.udp_echo(port))
}

/// Where `echo` sees `from` come from.
fn seen_from(from: &Host, echo: &UdpEcho) -> SocketAddrV4 {
    let answer = ok(from.probe(echo.addr(), REACH));
    answer
        .unwrap_or_else(|| panic!("{} ({}) does not reach {}", from.name, from.addr, echo.addr()))
        .seen_as
}

/// Every pair stays silent; checked in parallel so the silences overlap.
fn assert_unreachable(pairs: &[(&Host, &UdpEcho)]) {
    std::thread::scope(|scope| {
        for (from, echo) in pairs {
            scope.spawn(move || {
                let reached = ok(from.reaches(echo.addr(), NO_REACH));
                assert!(!reached, "{} ({}) must not reach {}", from.name, from.addr, echo.addr());
            });
        }
    });
}

#[test]
fn lan_hosts_reach_each_other_directly_and_the_server_through_their_router() {
    let mut lab = lab();
    let lan_srv = ok(lab.add_lan_host("lan_srv"));
    assert_eq!(lan_srv.addr, Ipv4Addr::new(10, 231, 10, 4));
    let (on_server, on_lan_b, on_lan_srv) = (echo(&lab.server, 7000), echo(&lab.lan_b, 7000), echo(&lan_srv, 7000));

    assert_eq!(
        *seen_from(&lab.lan_a, &on_lan_b).ip(),
        lab.lan_a.addr,
        "no NAT inside the LAN"
    );
    assert_eq!(*seen_from(&lab.lan_b, &on_lan_srv).ip(), lab.lan_b.addr);
    assert_eq!(
        *seen_from(&lab.lan_a, &on_server).ip(),
        lab.lan_gw.addr,
        "the LAN is NATed to the internet"
    );
    assert_eq!(*seen_from(&lan_srv, &on_server).ip(), lab.lan_gw.addr);

    assert_unreachable(&[(&lab.server, &on_lan_b), (&lab.home_a, &on_lan_srv)]);
}

#[test]
fn home_hosts_reach_the_server_but_not_each_other_and_the_server_not_them() {
    let lab = lab();
    let (on_server, on_home_a, on_home_b) = (
        echo(&lab.server, 7000),
        echo(&lab.home_a, 7000),
        echo(&lab.home_b, 7000),
    );
    let on_lan_a = echo(&lab.lan_a, 7000);

    assert_eq!(*seen_from(&lab.home_a, &on_server).ip(), lab.nat_a.addr);
    assert_eq!(*seen_from(&lab.home_b, &on_server).ip(), lab.nat_b.addr);

    assert_unreachable(&[
        (&lab.home_a, &on_home_b),
        (&lab.home_b, &on_home_a),
        (&lab.server, &on_home_a),
        (&lab.server, &on_home_b),
        (&lab.home_a, &on_lan_a),
        (&lab.lan_a, &on_home_a),
    ]);
}

#[test]
fn cone_nat_keeps_one_port_and_symmetric_nat_takes_one_per_destination() {
    let lab = lab();
    let (first, second) = (echo(&lab.server, 7001), echo(&lab.server, 7002));
    let via = |socket: &UdpSocket, echo: &UdpEcho| {
        probe(socket, echo.addr(), REACH)
            .unwrap()
            .expect("the server answers")
            .seen_as
    };

    let cone = ok(lab.home_a.udp_socket(0));
    let local_port = cone.local_addr().unwrap().port();
    let expected = SocketAddrV4::new(lab.nat_a.addr, local_port);
    assert_eq!(via(&cone, &first), expected, "cone NAT: port preserved");
    assert_eq!(
        via(&cone, &second),
        expected,
        "cone NAT: same mapping for another destination"
    );

    let symmetric = ok(lab.home_b.udp_socket(0));
    let (to_first, to_second) = (via(&symmetric, &first), via(&symmetric, &second));
    assert_eq!(*to_first.ip(), lab.nat_b.addr);
    assert_eq!(*to_second.ip(), lab.nat_b.addr);
    assert_ne!(
        to_first.port(),
        to_second.port(),
        "symmetric NAT: a new port per destination"
    );
    assert_eq!(
        via(&symmetric, &first),
        to_first,
        "…but the same one again for the same destination"
    );
}

#[test]
fn two_cone_nats_on_request() {
    let lab = lab_with(LabOptions {
        home_b: NatKind::Cone,
        ..LabOptions::default()
    });
    let (first, second) = (echo(&lab.server, 7001), echo(&lab.server, 7002));
    let socket = ok(lab.home_b.udp_socket(0));
    let to_first = probe(&socket, first.addr(), REACH).unwrap().unwrap().seen_as;
    let to_second = probe(&socket, second.addr(), REACH).unwrap().unwrap().seen_as;
    assert_eq!(to_first, to_second);
    assert_eq!(
        to_first,
        SocketAddrV4::new(lab.nat_b.addr, socket.local_addr().unwrap().port())
    );
}

#[test]
fn multicast_stays_on_the_lan() {
    let mut lab = lab();
    let lan_srv = ok(lab.add_lan_host("lan_srv"));
    let mdns = Ipv4Addr::new(224, 0, 0, 251);
    let listen = |host: &Host| {
        let socket = ok(host.udp_socket(5353));
        socket.join_multicast_v4(&mdns, &host.addr).unwrap();
        socket
    };
    let listeners = [
        (&lab.lan_b, true),
        (&lan_srv, true),
        (&lab.home_a, false),
        (&lab.home_b, false),
    ]
    .map(|(host, hears)| (host, listen(host), hears));

    let sender = ok(lab.lan_a.udp_socket(0));
    sender.send_to(b"who is there?", (mdns, 5353)).unwrap();

    for (host, socket, hears) in &listeners {
        socket
            .set_read_timeout(Some(if *hears { REACH } else { NO_REACH }))
            .unwrap();
        let mut buf = [0u8; 64];
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                assert!(hears, "{} heard LAN multicast from {from}", host.name);
                assert_eq!(&buf[..n], b"who is there?");
                assert_eq!(from.ip(), lab.lan_a.addr);
            }
            Err(error) => assert!(!hears, "{} heard no multicast: {error}", host.name),
        }
    }
}

#[test]
fn coturn_answers_stun_with_the_nat_address_and_relays() {
    let mut lab = lab();
    let peer = ok(lab.add_wan_host("peer"));
    let on_peer = echo(&peer, 7000);
    let coturn = ok(Coturn::start(&lab.server, "lab-secret", "parley.test"));
    assert_eq!(coturn.addr(), SocketAddrV4::new(lab.server.addr, 3478));

    let from_b = ok(lab.home_b.udp_socket(0));
    let mapped = stun::binding(&from_b, coturn.addr().into(), REACH).unwrap();
    assert_eq!(*mapped.ip(), lab.nat_b.addr, "STUN from behind the symmetric NAT");

    let from_a = ok(lab.home_a.udp_socket(0));
    let mapped = stun::binding(&from_a, coturn.addr().into(), REACH).unwrap();
    assert_eq!(
        mapped,
        SocketAddrV4::new(lab.nat_a.addr, from_a.local_addr().unwrap().port())
    );

    let tcp = ok(lab.home_b.tcp_connect(coturn.addr().into(), REACH));
    assert_eq!(tcp.peer_addr().unwrap(), std::net::SocketAddr::V4(coturn.addr()));

    // A relay from behind the symmetric NAT to a peer on the internet: the peer sees the
    // relay's address, and its answer comes back through coturn.
    let (relayed, answer) = turn_round_trip(&from_b, &coturn, on_peer.addr());
    assert_eq!(*relayed.ip(), lab.server.addr);
    assert_eq!(answer, format!("{relayed} through the relay"));
}

/// Allocate, CreatePermission, Send indication, and the Data indication that comes back
/// (RFC 5766) — the relayed address and the data.
fn turn_round_trip(socket: &UdpSocket, coturn: &Coturn, peer: SocketAddrV4) -> (SocketAddrV4, String) {
    const ALLOCATE: u16 = 0x0003;
    const CREATE_PERMISSION: u16 = 0x0008;
    const SEND_INDICATION: u16 = 0x0016;
    const DATA_INDICATION: u16 = 0x0017;
    let server = coturn.addr().into();
    let udp = (stun::REQUESTED_TRANSPORT, vec![17, 0, 0, 0]);

    let challenge = stun::encode(ALLOCATE, &stun::transaction_id(), std::slice::from_ref(&udp), None);
    let challenge = stun::transact(socket, server, &challenge, REACH).unwrap();
    assert_eq!(challenge.error_code(), Some(401), "{challenge:?}");
    let realm = challenge.attribute(stun::REALM).unwrap().to_vec();
    let nonce = challenge.attribute(stun::NONCE).unwrap().to_vec();
    assert_eq!(realm, coturn.realm().as_bytes());

    let (username, password) = coturn.credentials("alice", Duration::from_secs(600));
    let key = Md5::digest(format!("{username}:{}:{password}", coturn.realm()));
    let auth = [
        (stun::USERNAME, username.into_bytes()),
        (stun::REALM, realm),
        (stun::NONCE, nonce),
    ];
    let signed = |kind: u16, extra: &[(u16, Vec<u8>)]| {
        let attributes = [extra, &auth[..]].concat();
        stun::encode(kind, &stun::transaction_id(), &attributes, Some(&key[..]))
    };

    let allocated = stun::transact(socket, server, &signed(ALLOCATE, std::slice::from_ref(&udp)), REACH).unwrap();
    assert_eq!(allocated.kind, 0x0103, "{allocated:?}");
    let relayed = allocated.xor_address(stun::XOR_RELAYED_ADDRESS).unwrap();

    let peer_attribute = (stun::XOR_PEER_ADDRESS, stun::encode_xor_address(peer));
    let permission = signed(CREATE_PERMISSION, std::slice::from_ref(&peer_attribute));
    let permitted = stun::transact(socket, server, &permission, REACH).unwrap();
    assert_eq!(permitted.kind, 0x0108, "{permitted:?}");

    let send = stun::encode(
        SEND_INDICATION,
        &stun::transaction_id(),
        &[peer_attribute, (stun::DATA, b"through the relay".to_vec())],
        None,
    );
    let deadline = Instant::now() + REACH;
    let mut buf = [0u8; 2048];
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    while Instant::now() < deadline {
        socket.send_to(&send, server).unwrap();
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Some(message) = stun::decode(&buf[..n]) else {
            continue;
        };
        if message.kind == DATA_INDICATION {
            assert_eq!(message.xor_address(stun::XOR_PEER_ADDRESS), Some(peer));
            let data = String::from_utf8(message.attribute(stun::DATA).unwrap().to_vec()).unwrap();
            return (relayed, data);
        }
    }
    panic!(
        "nothing came back through the relay at {relayed}; coturn said:\n{}",
        coturn.log()
    );
}

#[test]
fn netem_shapes_and_cut_disconnects_an_uplink() {
    let lab = lab();
    let on_server = echo(&lab.server, 7000);
    let rtt = |host: &Host| ok(host.probe(on_server.addr(), REACH)).map(|p| p.rtt);

    let plain = rtt(&lab.home_a).expect("home_a reaches the server");
    assert!(plain < Duration::from_millis(100), "{plain:?} unshaped");

    ok(lab.netem(&lab.home_a, "delay 100ms"));
    let shaped = rtt(&lab.home_a).expect("shaped, not cut");
    assert!(
        (Duration::from_millis(190)..Duration::from_millis(600)).contains(&shaped),
        "100 ms each way, measured {shaped:?}"
    );
    ok(lab.netem(&lab.home_a, "loss 100%"));
    assert!(!ok(lab.home_a.reaches(on_server.addr(), NO_REACH)), "everything lost");
    ok(lab.clear_netem(&lab.home_a));
    let cleared = rtt(&lab.home_a).expect("cleared");
    assert!(cleared < Duration::from_millis(100), "{cleared:?} after clearing");

    // A router's uplink shapes everything behind it.
    ok(lab.netem(&lab.nat_b, "delay 50ms"));
    let behind = rtt(&lab.home_b).expect("home_b reaches the server");
    assert!(behind >= Duration::from_millis(95), "{behind:?} behind a shaped router");
    ok(lab.clear_netem(&lab.nat_b));

    ok(lab.cut(&lab.home_a));
    assert!(!ok(lab.home_a.reaches(on_server.addr(), NO_REACH)), "cut");
    assert!(rtt(&lab.home_b).is_some(), "only home_a is cut");
    ok(lab.restore(&lab.home_a));
    assert!(rtt(&lab.home_a).is_some(), "restored");

    ok(lab.cut(&lab.server));
    assert!(!ok(lab.lan_a.reaches(on_server.addr(), NO_REACH)), "server cut");
    ok(lab.restore(&lab.server));
    assert!(rtt(&lab.lan_a).is_some(), "server restored");
}

#[tokio::test]
async fn commands_run_inside_their_namespace() {
    let lab = lab();
    let output = lab
        .home_b
        .command("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let addresses = String::from_utf8_lossy(&output.stdout);
    assert!(addresses.contains(&format!("{}/24", lab.home_b.addr)), "{addresses}");
    assert!(!addresses.contains(&lab.nat_b.addr.to_string()), "{addresses}");

    let routes = lab
        .home_b
        .std_command("ip")
        .args(["route", "show", "default"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout);
    assert!(routes.contains(&format!("via {}", lab.home_b.gateway)), "{routes}");

    // Forwarding: on in routers, off elsewhere — above all in the internet's dead end.
    let forwarding = |ns: &str| {
        let value = std::process::Command::new("ip")
            .args(["netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&value.stdout).trim() == "1"
    };
    assert!(forwarding(&lab.nat_a.ns) && forwarding(&lab.nat_b.ns) && forwarding(&lab.lan_gw.ns));
    assert!(!forwarding(lab.wan_ns()) && !forwarding(&lab.server.ns) && !forwarding(&lab.home_a.ns));

    for (router, symmetric) in [(&lab.nat_a, false), (&lab.nat_b, true)] {
        let rules = router
            .command("iptables")
            .args(["-t", "nat", "-S", "POSTROUTING"])
            .output()
            .await
            .unwrap();
        let rules = String::from_utf8_lossy(&rules.stdout);
        assert!(rules.contains("MASQUERADE"), "{rules}");
        assert_eq!(rules.contains("--random-fully"), symmetric, "{rules}");
    }
}

#[test]
fn dropping_the_lab_kills_its_processes_and_deletes_its_namespaces() {
    let lab = lab();
    let names = lab.namespaces().to_vec();
    assert_eq!(names.len(), 9, "{names:?}");
    assert!(names.iter().all(|name| name.starts_with(lab.id())));
    let mut sleeper = lab.home_a.std_command("sleep").arg("60").spawn().unwrap();
    drop(lab);

    let deadline = Instant::now() + Duration::from_secs(5);
    while sleeper.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "a process in a dropped lab is still running");
        std::thread::sleep(Duration::from_millis(20));
    }
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for name in &names {
        assert!(
            !list.lines().any(|line| line.split_whitespace().next() == Some(name)),
            "{name} left behind"
        );
    }
}

#[test]
fn options_outside_private_ranges_are_refused() {
    let options = LabOptions {
        base: Ipv4Addr::new(8, 8, 0, 0),
        ..LabOptions::default()
    };
    let error = NetLab::build(options).unwrap_err();
    assert!(matches!(error, LabError::Options(_)), "{error}");
}
