//! Reaching a signaling server across a network safely: HTTPS/WSS to a server with a
//! self-signed certificate, trusted by its invite or by a fingerprint the person compared; a
//! server presenting another certificate refused; plain HTTP to another machine only once the
//! person agreed.

use parley_core::{CoreError, CoreEvent, ServerChoice};
use parley_signal::test_utils::config;
use parley_signal::{Config, Database, TlsSource};
use parley_tests::{open, test_options, Person, TestServer, PASSWORD};

/// A server serving HTTPS with a self-signed certificate kept in `dir`, on `listen`.
async fn tls_server(dir: &std::path::Path, listen: std::net::SocketAddr) -> TestServer {
    TestServer::start_with(Config {
        listen,
        tls: Some(TlsSource::SelfSigned {
            dir: dir.to_owned(),
            names: vec!["localhost".into()],
        }),
        ..config(Database::InMemory)
    })
    .await
}

fn json(e: &CoreError) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

#[tokio::test]
async fn two_people_join_a_tls_server_by_its_invite_and_chat_and_come_back_after_a_restart() {
    let certs = tempfile::tempdir().unwrap();
    let server = tls_server(certs.path(), "127.0.0.1:0".parse().unwrap()).await;
    let invite = server.invite().expect("a TLS server has an invite").to_string();
    assert!(server.url().starts_with("https://"), "{}", server.url());

    let mut ann = Person::register_at(&invite, "ann").await;
    let mut bob = Person::register_at(&invite, "bob").await;
    ann.go_online("lan").await;
    bob.go_online("lan").await;
    let sent = ann.send(&bob.user, "over TLS, pinned").await;
    let got = bob.wait_for_message(&sent.id).await;
    assert_eq!(got.body, "over TLS, pinned");
    // Two devices on one machine: the direct channel runs between their own addresses.
    let contacts = ann.parley().contacts().await.unwrap();
    let with_bob = contacts
        .iter()
        .find(|c| c.user.id == bob.id())
        .expect("bob is a contact");
    assert_eq!(with_bob.route, Some(parley_core::Route::Direct));
    // The profile keeps the server's address (not the invite) and the pin: a restart restores
    // the session through the pinned certificate.
    assert_eq!(
        ann.parley().snapshot().server_url.as_deref(),
        Some(server.url().as_str())
    );
    ann.restart().await;
    assert!(ann.is_online());
}

#[tokio::test]
async fn a_self_signed_server_is_refused_with_its_fingerprint_until_the_person_trusts_it() {
    let certs = tempfile::tempdir().unwrap();
    let server = tls_server(certs.path(), "127.0.0.1:0".parse().unwrap()).await;
    let fingerprint = server.invite().unwrap().fingerprint;
    let dir = tempfile::tempdir().unwrap();
    let (parley, _events) = open(&dir.path().join("p"), test_options(&dir.path().join("td"))).await;
    let choice = ServerChoice::Url { url: server.url() };

    let refused = parley
        .sign_up(choice.clone(), "cat", "cat@example.org", PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "untrusted_certificate", "{refused}");
    // The person is shown what to compare, in the form the server's owner sees.
    assert_eq!(json(&refused)["fingerprint"], fingerprint.to_string());
    assert!(refused.to_string().contains("invite"), "{refused}");

    parley.trust_server(&server.url(), &fingerprint.grouped()).unwrap();
    let snapshot = parley
        .sign_up(choice, "cat", "cat@example.org", PASSWORD, None)
        .await
        .expect("signs up once the certificate is trusted");
    assert_eq!(snapshot.me.unwrap().username, "cat");
    parley.shutdown().await;
}

#[tokio::test]
async fn a_server_presenting_another_certificate_is_refused_with_both_fingerprints() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut server = tls_server(first.path(), "127.0.0.1:0".parse().unwrap()).await;
    let invite = server.invite().unwrap();
    let ann = Person::register_at(&invite.to_string(), "ann").await;
    ann.parley().sign_out(true).await.unwrap();

    // Someone else answers at the same address, with a certificate of their own.
    let addr = server.addr();
    server.stop().await;
    let impostor = tls_server(second.path(), addr).await;
    let other = impostor.invite().unwrap().fingerprint;
    assert_ne!(other, invite.fingerprint);

    let refused = ann
        .parley()
        .sign_in(ServerChoice::Url { url: impostor.url() }, "ann", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "certificate_changed", "{refused}");
    assert_eq!(json(&refused)["fingerprint"], other.to_string());
    let message = refused.to_string();
    assert!(
        message.contains(&invite.fingerprint.to_string()) && message.contains("new invite"),
        "{message}"
    );
}

#[tokio::test]
async fn plain_http_to_another_machine_needs_the_persons_agreement_once() {
    // The server listens on every interface and is reached by this machine's LAN address, as
    // another machine would reach it.
    let server = TestServer::start_with(Config {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..config(Database::InMemory)
    })
    .await;
    let lan = parley_signal::local_addresses()
        .into_iter()
        .find(std::net::IpAddr::is_ipv4)
        .expect("this test needs a non-loopback IPv4 address on the machine");
    let url = format!("http://{lan}:{}", server.addr().port());
    let dir = tempfile::tempdir().unwrap();
    let (parley, _events) = open(&dir.path().join("p"), test_options(&dir.path().join("td"))).await;
    let choice = ServerChoice::Url { url: url.clone() };

    let refused = parley
        .sign_up(choice.clone(), "dan", "dan@example.org", PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "plain_http", "{refused}");
    assert!(refused.to_string().contains("unencrypted"), "{refused}");

    parley.allow_plain_http(&url).unwrap();
    parley
        .sign_up(choice.clone(), "dan", "dan@example.org", PASSWORD, None)
        .await
        .expect("signs up once agreed");
    parley.sign_out(true).await.unwrap();
    // Agreed once, for that server: signing in again asks nothing.
    parley.sign_in(choice, "dan", PASSWORD).await.expect("still agreed");
    parley.shutdown().await;
}

#[tokio::test]
async fn let_others_join_opens_this_devices_server_by_invite_and_closes_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let (host, _events) = open(&dir.path().join("host"), test_options(&dir.path().join("td"))).await;
    host.sign_up(ServerChoice::Embedded, "host", "host@example.org", PASSWORD, None)
        .await
        .unwrap();
    assert!(host.sharing().await.is_none(), "closed until asked");

    let sharing = host.set_sharing(true).await.unwrap().expect("open");
    assert!(
        !sharing.invites.is_empty(),
        "an invite per address of this machine: {sharing:?}"
    );
    assert_eq!(sharing.invites.len(), sharing.addresses.len());
    assert!(
        sharing.qr_svg.starts_with("<?xml") || sharing.qr_svg.contains("<svg"),
        "a QR code"
    );
    let invite: parley_signal::Invite = sharing.invites[0].parse().unwrap();
    assert_eq!(invite.fingerprint.grouped(), sharing.fingerprint);
    assert!(invite.server.ends_with(&format!(":{}", sharing.port)), "{invite:?}");

    // Another device joins with the invite alone (over the LAN address, HTTPS, pinned).
    let mut guest = Person::register_at(&sharing.invites[0], "guest").await;
    guest.go_online("lobby").await;
    assert_eq!(
        guest.parley().snapshot().server_url.as_deref(),
        Some(invite.server.as_str())
    );

    // Asked again while open: the same certificate and port, and the guest stays.
    let again = host.set_sharing(true).await.unwrap().unwrap();
    assert_eq!(again.fingerprint, sharing.fingerprint);

    // Off: the port closes, a joined device is sent away, and a new one can no longer join.
    guest.mark();
    host.set_sharing(false).await.unwrap();
    assert!(host.sharing().await.is_none());
    let why = guest
        .wait_for("the guest sent away", |e| match e {
            CoreEvent::Offline { reason } => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(!why.is_empty());
    let late = tempfile::tempdir().unwrap();
    let (other, _e) = open(&late.path().join("p"), test_options(&late.path().join("td"))).await;
    let refused = other
        .sign_up(
            ServerChoice::Url {
                url: sharing.invites[0].clone(),
            },
            "late",
            "late@example.org",
            PASSWORD,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "server_unreachable", "{refused}");

    // On again later: the same certificate, so invites handed out before stay good.
    let reopened = host.set_sharing(true).await.unwrap().unwrap();
    assert_eq!(reopened.fingerprint, sharing.fingerprint);
    other.shutdown().await;
    host.shutdown().await;
}
