use crate::api_client::{ApiClient, ApiError};
use crate::server_link::LinkEvent;
use parley_protocol::{codes, ProfileUpdate, ServerFrame};
use parley_signal::{Config, Database, IceConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::test_support::{self, register_request, signed_in, unique, wait_for, DEADLINE};

/// A 1×1 transparent PNG.
const PNG: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba,
    0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn account_lifecycle_against_the_real_server() {
    let server = test_support::server_with(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Database::InMemory,
        ice: IceConfig {
            stun_urls: vec!["stun:stun.example.org:3478".to_owned()],
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let client = ApiClient::new(&format!("{}/", server.url())).unwrap();
    client.health().await.expect("healthy");

    let name = unique("alice");
    let registered = client.register(&register_request(&name)).await.expect("register");
    assert_eq!(registered.user.username, name);
    assert_eq!(client.token().as_deref(), Some(registered.token.as_str()));

    let me = client.me().await.expect("me");
    assert_eq!(me.id, registered.user.id);
    assert_eq!(me.email.as_deref(), Some(format!("{name}@example.org").as_str()));

    // A second device signs in with the email address.
    let other = ApiClient::new(&server.url()).unwrap();
    let logged_in = other
        .login(&format!("{name}@example.org"), "correct horse battery")
        .await
        .expect("login");
    assert_eq!(logged_in.user.id, me.id);
    assert_ne!(logged_in.token, registered.token);

    let update = ProfileUpdate {
        display_name: Some("Alice A.".to_owned()),
        status: Some("out for lunch".to_owned()),
        ..Default::default()
    };
    let updated = client.update_profile(&update).await.expect("update");
    assert_eq!(
        (updated.display_name.as_str(), updated.status.as_str()),
        ("Alice A.", "out for lunch")
    );
    assert_eq!(updated.bio, "", "fields not sent stay as they were");

    assert_eq!(client.avatar(&me.id).await.expect("no avatar yet"), None);
    let with_avatar = client.upload_avatar(PNG.to_vec()).await.expect("upload avatar");
    let avatar_path = with_avatar.avatar_url.expect("avatar url");
    let avatar = client.avatar(&me.id).await.expect("avatar").expect("an avatar");
    assert_eq!(avatar.content_type, "image/png");
    assert!(avatar.bytes.starts_with(b"\x89PNG"), "{:?}", &avatar.bytes[..8]);
    assert!(client
        .server()
        .resolve(&avatar_path)
        .unwrap()
        .as_str()
        .starts_with(&server.url()));
    match client.upload_avatar(b"not an image".to_vec()).await {
        Err(ApiError::Server { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (415, codes::UNSUPPORTED_MEDIA));
        }
        other => panic!("expected unsupported_media_type, got {other:?}"),
    }

    let ice = client.ice_servers().await.expect("ice servers");
    assert!(
        ice.iter()
            .any(|s| s.urls.contains(&"stun:stun.example.org:3478".to_owned())),
        "{ice:?}"
    );

    // Rooms exist while someone is in them: put this account online in one with a space and
    // a `#`, which must survive URL escaping.
    assert!(client.rooms().await.expect("rooms").is_empty());
    let (link, mut events) = test_support::start_link(client.server(), &registered.token);
    link.join("tea #1").unwrap();
    let peer_id = wait_for(&mut events, "own join", |event| match event {
        LinkEvent::Frame(ServerFrame::Joined { room, .. }) if room == "tea #1" => link.local_peer_id(),
        _ => None,
    })
    .await;
    let rooms = client.rooms().await.expect("rooms");
    assert_eq!(rooms.len(), 1);
    assert_eq!((rooms[0].name.as_str(), rooms[0].online), ("tea #1", 1));
    let peers = other.room_peers("tea #1").await.expect("peers");
    assert_eq!(peers.len(), 1);
    assert_eq!(
        (peers[0].peer_id.as_str(), peers[0].user.id.as_str()),
        (peer_id.as_str(), me.id.as_str())
    );
    assert!(peers[0].user.email.is_none(), "peers never see email addresses");
    assert!(other.room_peers("empty").await.expect("peers").is_empty());
    link.shutdown().await;

    client.logout().await.expect("logout");
    assert!(client.token().is_none());
    assert!(matches!(client.me().await, Err(ApiError::NotSignedIn)));
    // The token is dead on the server too, not just forgotten here.
    let stale = ApiClient::new(&server.url()).unwrap().with_token(registered.token);
    let error = stale.me().await.expect_err("signed-out token");
    assert!(error.is_unauthorized(), "{error:?}");
    assert!(matches!(error, ApiError::Server { status: 401, .. }), "{error:?}");
    // The other session lives on.
    assert_eq!(other.me().await.expect("other session").id, me.id);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn server_refusals_are_typed() {
    let server = test_support::server().await;
    let (_, alice) = signed_in(&server, "taken").await;
    let client = ApiClient::new(&server.url()).unwrap();

    let mut clash = register_request(&alice.user.username.to_uppercase());
    clash.email = "someone-else@example.org".to_owned();
    match client.register(&clash).await {
        Err(ApiError::Server { status, code, .. }) => assert_eq!((status, code.as_str()), (409, "username_taken")),
        other => panic!("expected username_taken, got {other:?}"),
    }

    let error = client
        .login(&alice.user.username, "wrong password")
        .await
        .expect_err("wrong password");
    assert_eq!(error.code(), Some(codes::INVALID_CREDENTIALS));
    assert!(matches!(error, ApiError::Server { status: 401, .. }));
    assert!(!error.is_unauthorized(), "a failed login is not an expired session");
    assert!(client.token().is_none(), "a failed login signs nobody in");

    match client.register(&register_request("x")).await {
        Err(ApiError::Server {
            code, field, message, ..
        }) => {
            assert_eq!((code.as_str(), field.as_deref()), ("invalid_input", Some("username")));
            assert!(!message.is_empty());
        }
        other => panic!("expected invalid_input, got {other:?}"),
    }
    assert!(matches!(client.rooms().await, Err(ApiError::NotSignedIn)));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_server_is_reported_as_such() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = ApiClient::new(&format!("127.0.0.1:{port}")).unwrap();
    let started = std::time::Instant::now();
    let error = client.health().await.expect_err("nothing listens");
    assert!(started.elapsed() < DEADLINE);
    let message = error.to_string();
    assert!(matches!(error, ApiError::Unreachable { .. }), "{error:?}");
    assert!(
        message.contains(&format!("could not be reached at http://127.0.0.1:{port}")),
        "{message}"
    );
    let error = client
        .login("alice", "secret password")
        .await
        .expect_err("nothing listens");
    assert!(matches!(error, ApiError::Unreachable { .. }), "{error:?}");
}

#[tokio::test]
async fn something_that_is_not_a_parley_server_is_a_protocol_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let imposter = tokio::spawn(async move {
        for body in ["<html>hello</html>", "<html>bad gateway</html>"] {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 4096];
            let _ = socket.read(&mut request).await.unwrap();
            let status = if body.contains("gateway") {
                "502 Bad Gateway"
            } else {
                "200 OK"
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        }
    });
    let client = ApiClient::new(&format!("http://{addr}")).unwrap().with_token("t");
    let error = client.me().await.expect_err("html is no user");
    assert!(matches!(error, ApiError::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("<html>hello</html>"), "{error}");
    let error = client.me().await.expect_err("502");
    assert!(matches!(error, ApiError::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("502"), "{error}");
    imposter.await.unwrap();
}

#[test]
fn bad_base_urls_are_refused_up_front() {
    for bad in ["ftp://example.org", "", "https://user:pw@example.org"] {
        let error = ApiClient::new(bad).expect_err(bad);
        assert!(matches!(error, ApiError::InvalidUrl(_)), "{bad}: {error:?}");
        assert!(error.to_string().contains("not a usable server address"), "{error}");
    }
}
