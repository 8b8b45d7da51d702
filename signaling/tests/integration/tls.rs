//! HTTPS and WSS served by the server itself: the certificate it presents is the one its
//! fingerprint names, renewed files are picked up without a restart, and a second (shared)
//! listener serves the same server and closes its port when dropped.

use std::time::Duration;

use parley_signal::test_utils::{config, DEADLINE};
use parley_signal::{self_signed, Config, Database, Fingerprint, Server, TlsSource};

/// `/healthz` over HTTPS with a client that accepts any certificate: these tests check what the
/// server serves, not the client's checks (the app's are `tests/tests/integration/servers.rs`).
async fn presented(url: &str) -> Result<(), reqwest::Error> {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    client.get(format!("{url}/healthz")).send().await?.error_for_status()?;
    Ok(())
}

/// The fingerprint of a PEM certificate.
fn fingerprint_of(pem: &str) -> Fingerprint {
    let der = pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>();
    use base64::Engine;
    Fingerprint::of_certificate(&base64::engine::general_purpose::STANDARD.decode(der).unwrap())
}

#[tokio::test]
async fn a_server_with_certificate_files_serves_https_and_takes_a_renewal_without_restarting() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = self_signed(&["localhost".into()]).unwrap();
    std::fs::write(&cert, &first.cert).unwrap();
    std::fs::write(&key, &first.key).unwrap();
    let server = Server::bind(Config {
        tls: Some(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        ..config(Database::InMemory)
    })
    .await
    .unwrap();
    let tls = server.tls().expect("serving TLS");
    assert_eq!(tls.fingerprint(), fingerprint_of(&first.cert));
    let handle = server.spawn();
    assert!(handle.url().starts_with("https://"));
    presented(&handle.url()).await.expect("HTTPS answers");
    // Plain HTTP on the TLS port gets no answer.
    let plain = handle.url().replacen("https", "http", 1);
    assert!(reqwest::get(format!("{plain}/healthz")).await.is_err());

    // A renewer replaces both files: the server presents the new certificate within seconds.
    let second = self_signed(&["localhost".into()]).unwrap();
    std::fs::write(&key, &second.key).unwrap();
    std::fs::write(&cert, &second.cert).unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while tls.fingerprint() != fingerprint_of(&second.cert) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewal was never picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    presented(&handle.url())
        .await
        .expect("HTTPS still answers after the renewal");
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_shared_listener_serves_the_same_server_and_its_port_closes_when_dropped() {
    let handle = Server::bind(config(Database::InMemory)).await.unwrap().spawn();
    let dir = tempfile::tempdir().unwrap();
    let shared = handle
        .listen_also(
            "127.0.0.1:0".parse().unwrap(),
            TlsSource::SelfSigned {
                dir: dir.path().to_owned(),
                names: vec!["localhost".into()],
            },
        )
        .await
        .unwrap();
    let url = format!("https://{}", shared.local_addr());
    presented(&url).await.expect("the shared port answers over HTTPS");
    // The same accounts on both: registered through one, signed in through the other.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let body =
        serde_json::json!({"username": "lan", "email": "lan@example.org", "password": "correct horse battery staple"});
    let status = client
        .post(format!("{}/api/v1/register", handle.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 201);
    let login = serde_json::json!({"login": "lan", "password": "correct horse battery staple"});
    let status = client
        .post(format!("{url}/api/v1/login"))
        .json(&login)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let addr = shared.local_addr();
    shared.close().await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the shared port stayed open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    presented(&handle.url().replacen("http", "https", 1)).await.unwrap_err();
    assert!(
        reqwest::get(format!("{}/healthz", handle.url())).await.is_ok(),
        "the main port stays"
    );
    handle.shutdown().await.unwrap();
}
