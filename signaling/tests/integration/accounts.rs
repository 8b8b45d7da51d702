//! Accounts over real HTTP: register, login, logout, `/me`, and the sign-in rate limit.

use crate::common::*;
use parley_signal::Limits;
use serde_json::{json, Value};

/// Limits generous enough that validation tests never trip the sign-in rate limit.
fn no_rate_limit() -> Limits {
    Limits {
        auth_per_minute: 10_000,
        ..Limits::default()
    }
}

/// Fails if any key anywhere in `value` mentions a password or hash.
fn assert_no_secrets(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let key = key.to_lowercase();
                assert!(
                    !key.contains("password") && !key.contains("hash"),
                    "secret-looking field {key:?} in {value}"
                );
                assert_no_secrets(inner);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_secrets),
        Value::String(s) => assert!(!s.starts_with("$argon2"), "password hash leaked: {s}"),
        _ => {}
    }
}

#[tokio::test]
async fn register_returns_the_user_and_a_working_token() {
    let server = start().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = server
        .register_raw(&json!({
            "username": "Alice.W-1",
            "email": "Alice@Example.org",
            "password": PASSWORD,
            "display_name": "  Alice Wonder  ",
        }))
        .await
        .expect(201);
    assert_no_secrets(&body);
    let user = &body["user"];
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 40, "token too short to be 256 bits: {token}");
    assert_eq!(user["username"], "Alice.W-1", "the typed spelling is kept");
    assert_eq!(user["email"], "Alice@Example.org", "own email is shown");
    assert_eq!(user["display_name"], "Alice Wonder", "display name is trimmed");
    assert_eq!(user["bio"], "");
    assert_eq!(user["status"], "");
    assert_eq!(user["avatar_url"], Value::Null);
    assert!(user["id"].as_str().is_some_and(|id| id.len() >= 16));
    let created = user["created_at"].as_i64().unwrap();
    assert!((before - 5..=before + 5).contains(&created), "created_at {created}");

    let me = server.me(token).await.expect(200);
    assert_no_secrets(&me);
    assert_eq!(&me, user, "/me answers the registered user");

    // Without a display name the username is used.
    let bob = server.register_as("bob").await;
    assert_eq!(bob.user["display_name"], "bob");
    assert_ne!(bob.user["id"], user["id"]);
    assert_ne!(bob.token, token);
}

#[tokio::test]
async fn register_names_the_invalid_field() {
    let server = start_limits(no_rate_limit()).await;
    let good = json!({"username": "valid_name", "email": "valid@example.org", "password": PASSWORD});
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("username", json!("ab")), "username"),
        (with("username", json!("a".repeat(33))), "username"),
        (with("username", json!("-alice")), "username"),
        (with("username", json!("ali ce")), "username"),
        (with("username", json!("аlice")), "username"), // Cyrillic а
        (with("username", json!("")), "username"),
        (with("email", json!("not-an-email")), "email"),
        (with("email", json!("a@b")), "email"),
        (with("email", json!("a b@example.org")), "email"),
        (
            with("email", json!(format!("{}@example.org", "x".repeat(250)))),
            "email",
        ),
        (with("password", json!("short")), "password"),
        (with("password", json!("x".repeat(1025))), "password"),
        (with("display_name", json!("   ")), "display_name"),
        (with("display_name", json!("d".repeat(65))), "display_name"),
        (with("display_name", json!("bell\u{7}")), "display_name"),
        (without("username"), "username"),
        (without("email"), "email"),
        (without("password"), "password"),
        (with("is_admin", json!(true)), "is_admin"),
        (with("username", json!(42)), "username"),
        (with("email", Value::Null), "email"),
    ];
    for (body, field) in cases {
        let resp = server.register_raw(&body).await;
        assert_eq!(resp.status, 400, "{body} was not refused: {}", resp.text());
        let error = resp.json();
        assert_eq!(error["code"], "invalid_input", "{body}: {error}");
        assert_eq!(error["field"], field, "{body}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // Bodies that are not a JSON object at all.
    for raw in ["{\"username\": ", "not json", "", "[1,2]"] {
        let resp = server.post_raw("/api/v1/register", "application/json", raw).await;
        resp.expect_error(400, "invalid_input");
    }
    // JSON sent with the wrong content type, or none.
    let resp = server
        .post_raw("/api/v1/register", "text/plain", good.to_string())
        .await;
    resp.expect_error(415, "unsupported_media_type");
    let resp = server
        .send(server.http.post(server.url("/api/v1/register")).body(good.to_string()))
        .await;
    resp.expect_error(415, "unsupported_media_type");
    // A body over the JSON limit.
    let resp = server
        .register_raw(&with("display_name", json!("x".repeat(20_000))))
        .await;
    resp.expect_error(413, "payload_too_large");

    // None of the refused bodies created the account (else this would be a 409).
    server.register_raw(&good).await.expect(201);
}

#[tokio::test]
async fn duplicate_username_or_email_conflicts_ignoring_case() {
    let server = start().await;
    server
        .register_raw(&json!({"username": "Carol", "email": "carol@example.org", "password": PASSWORD}))
        .await
        .expect(201);
    server
        .register_raw(&json!({"username": "cAROL", "email": "other@example.org", "password": PASSWORD}))
        .await
        .expect_error(409, "username_taken");
    server
        .register_raw(&json!({"username": "carol2", "email": "CAROL@EXAMPLE.ORG", "password": PASSWORD}))
        .await
        .expect_error(409, "email_taken");
}

#[tokio::test]
async fn login_by_username_or_email() {
    let server = start().await;
    let dave = server.register_as("Dave").await;

    let by_name = server.login("dave", PASSWORD).await.expect(200);
    assert_no_secrets(&by_name);
    assert_eq!(by_name["user"]["id"], dave.user["id"]);
    assert_eq!(by_name["user"]["email"], dave.email, "own email on login");
    let by_email = server.login("DAVE@example.ORG", PASSWORD).await.expect(200);
    assert_eq!(by_email["user"]["id"], dave.user["id"]);

    // Every login is a new session; all of them work.
    let tokens = [
        dave.token.as_str(),
        by_name["token"].as_str().unwrap(),
        by_email["token"].as_str().unwrap(),
    ];
    assert!(tokens[0] != tokens[1] && tokens[1] != tokens[2] && tokens[0] != tokens[2]);
    for token in tokens {
        assert_eq!(server.me(token).await.expect(200)["id"], dave.user["id"]);
    }

    let wrong = server.login("dave", "wrong password!").await;
    let wrong = wrong.expect_error(401, "invalid_credentials");
    let unknown = server
        .login("nobody", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    assert_eq!(wrong, unknown, "unknown users and wrong passwords must look the same");
    // Malformed logins.
    server
        .post("/api/v1/login", &json!({"login": "dave"}), None)
        .await
        .expect_invalid("password");
    server
        .post(
            "/api/v1/login",
            &json!({"login": "dave", "password": PASSWORD, "x": 1}),
            None,
        )
        .await
        .expect_invalid("x");
}

#[tokio::test]
async fn auth_rate_limit_answers_429_with_retry_after() {
    let server = start_limits(Limits {
        auth_per_minute: 3,
        ..Limits::default()
    })
    .await;
    let before = server.metric("parley_http_rate_limited_total").await;
    // Three attempts of any outcome use up the burst...
    server
        .login("nobody", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    server.login("", PASSWORD).await.expect_invalid("login");
    server
        .register_raw(&json!({"username": "x", "email": "x@example.org", "password": PASSWORD}))
        .await
        .expect_invalid("username");
    // ...and the fourth, login or register, is refused.
    for resp in [
        server.login("nobody", PASSWORD).await,
        server
            .register_raw(&json!({"username": "erin", "email": "erin@example.org", "password": PASSWORD}))
            .await,
    ] {
        resp.expect_error(429, "rate_limited");
        let retry: u64 = resp
            .headers
            .get("retry-after")
            .expect("Retry-After header")
            .to_str()
            .unwrap()
            .parse()
            .expect("Retry-After is whole seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    assert_eq!(server.metric("parley_http_rate_limited_total").await, before + 2.0);
    // Other endpoints are not affected.
    assert_eq!(server.get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn default_rate_limit_allows_a_burst_of_20() {
    let server = start().await;
    // Cheap attempts (refused by validation after the rate check) so no password is hashed.
    for attempt in 1..=20 {
        let resp = server.login("", PASSWORD).await;
        assert_eq!(resp.status, 400, "attempt {attempt}: {}", resp.text());
    }
    server.login("", PASSWORD).await.expect_error(429, "rate_limited");
}

#[tokio::test]
async fn logout_kills_the_token_and_its_websockets() {
    let server = start().await;
    let frank = server.register_as("frank").await;
    let other_session = server.login("frank", PASSWORD).await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut doomed = connect(&server.ws_url(), &frank.token).await;
    let mut doomed_by_frame = connect_with_frame(&server.ws_url(), &frank.token).await;
    let mut survivor = connect(&server.ws_url(), &other_session).await;
    doomed.join("lobby").await;
    survivor.join("lobby").await;
    doomed.expect("peer-joined").await;

    let resp = server.post("/api/v1/logout", &json!({}), Some(&frank.token)).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert!(resp.body.is_empty());

    server.me(&frank.token).await.expect_error(401, "unauthorized");
    for ws in [&mut doomed.ws, &mut doomed_by_frame.ws] {
        expect_error_frame(ws, "unauthorized").await;
        assert_eq!(expect_close(ws).await, Some(1008));
    }
    // The other session of the same user lives on, and sees the dead peer leave.
    let left = survivor.expect("peer-left").await;
    assert_eq!(left["peer_id"], doomed.peer_id);
    survivor.sync().await;
    server.me(&other_session).await.expect(200);
    // A dead token cannot open a WebSocket or log out again.
    match ws_open(&server.ws_url(), Some(&frank.token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("dead token accepted: {:?}", other.map(|_| ())),
    }
    server
        .post("/api/v1/logout", &json!({}), Some(&frank.token))
        .await
        .expect_error(401, "unauthorized");
    server
        .post("/api/v1/logout", &json!({}), None)
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn me_needs_a_valid_token() {
    let server = start().await;
    for auth in [
        None,
        Some("Bearer garbage"),
        Some("Basic Zm9vOmJhcg=="),
        Some("Bearer "),
    ] {
        let mut request = server.http.get(server.url("/api/v1/me"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let resp = server.send(request).await;
        resp.expect_error(401, "unauthorized");
        assert_eq!(
            resp.headers.get("www-authenticate").map(|v| v.to_str().unwrap()),
            Some("Bearer"),
            "401 without WWW-Authenticate for {auth:?}"
        );
    }
    let garbage = server.put("/api/v1/me", &json!({"bio": "x"}), Some("garbage")).await;
    garbage.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn profile_updates_are_bounded_and_partial() {
    let server = start().await;
    let gina = server.register_as("gina").await;
    let token = Some(gina.token.as_str());

    let user = server
        .put(
            "/api/v1/me",
            &json!({"display_name": "  Gina G  ", "bio": "line one\r\nline two", "status": "busy"}),
            token,
        )
        .await
        .expect(200);
    assert_eq!(user["display_name"], "Gina G");
    assert_eq!(user["bio"], "line one\nline two");
    assert_eq!(user["status"], "busy");
    assert_eq!(user["email"], gina.email);
    assert_no_secrets(&user);

    // Absent and null fields stay as they are.
    let user = server
        .put("/api/v1/me", &json!({"status": "away", "bio": null}), token)
        .await
        .expect(200);
    assert_eq!(user["display_name"], "Gina G");
    assert_eq!(user["bio"], "line one\nline two");
    assert_eq!(user["status"], "away");
    assert_eq!(server.me(&gina.token).await.expect(200), user);

    // Limits count characters, not bytes: the maximum passes, one more is refused.
    for (field, max) in [("display_name", 64), ("bio", 500), ("status", 100)] {
        server
            .put("/api/v1/me", &json!({ field: "é".repeat(max) }), token)
            .await
            .expect(200);
        server
            .put("/api/v1/me", &json!({ field: "é".repeat(max + 1) }), token)
            .await
            .expect_invalid(field);
    }
    server
        .put("/api/v1/me", &json!({"display_name": ""}), token)
        .await
        .expect_invalid("display_name");
    server
        .put("/api/v1/me", &json!({"status": "two\nlines"}), token)
        .await
        .expect_invalid("status");
    server
        .put("/api/v1/me", &json!({"email": "new@example.org"}), token)
        .await
        .expect_invalid("email");
    server
        .put("/api/v1/me", &json!({"bio": "x"}), None)
        .await
        .expect_error(401, "unauthorized");
    // The refused updates changed nothing.
    let me = server.me(&gina.token).await.expect(200);
    assert_eq!(me["display_name"], "é".repeat(64));
    assert_eq!(me["bio"], "é".repeat(500));
    assert_eq!(me["status"], "é".repeat(100));
    assert_eq!(me["email"], gina.email);
}
