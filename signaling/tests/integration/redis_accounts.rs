//! Accounts kept in Redis (`--redis`), over real HTTP: the same register/login/logout as with
//! SQLite, and what Redis is for: several servers on one Redis share every account and session.

use std::io::Cursor;

use crate::common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use parley_signal::test_utils::RedisServer;
use parley_signal::{Config, Database};
use serde_json::json;

fn on_redis(redis: &RedisServer) -> Config {
    Config {
        database: Database::Redis(redis.url()),
        ..config()
    }
}

fn small_png() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 8, Rgb([200, 40, 90])))
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[tokio::test]
async fn two_servers_on_one_redis_share_accounts_and_sessions() {
    let redis = RedisServer::start();
    let first = start_with(on_redis(&redis)).await;
    let second = start_with(on_redis(&redis)).await;

    // Register, log in, log out: all on the first server.
    let ada = first.register_as("Ada").await;
    assert_eq!(first.me(&ada.token).await.expect(200), ada.user);
    let login = first.login("ada", PASSWORD).await.expect(200);
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(login["user"], ada.user);
    first.post("/api/v1/logout", &json!({}), Some(&token)).await.expect(204);
    first.me(&token).await.expect_error(401, "unauthorized");
    second.me(&token).await.expect_error(401, "unauthorized");

    // The second server knows the account the first registered...
    let on_second = second.expect_account("ADA@example.org", "ada", &ada.user).await;
    second
        .register_raw(&json!({"username": "ada2", "email": "ADA@EXAMPLE.ORG", "password": PASSWORD}))
        .await
        .expect_error(409, "email_taken");

    // ...and each server's sessions work on the other, until signed out on either.
    let second_token = on_second["token"].as_str().unwrap();
    assert_eq!(first.me(second_token).await.expect(200), ada.user);
    assert_eq!(second.me(&ada.token).await.expect(200), ada.user);
    second
        .post("/api/v1/logout", &json!({}), Some(&ada.token))
        .await
        .expect(204);
    first.me(&ada.token).await.expect_error(401, "unauthorized");

    // Profiles and avatars written through one server are what the other serves.
    let updated = first
        .put("/api/v1/me", &json!({"bio": "from the first"}), Some(second_token))
        .await
        .expect(200);
    let with_avatar = second
        .put_avatar(second_token, "image/png", small_png())
        .await
        .expect(200);
    let avatar_url = with_avatar["avatar_url"].as_str().expect("an avatar URL").to_owned();
    assert_eq!(with_avatar["bio"], updated["bio"]);
    let from_first = first.get(&avatar_url, None).await;
    assert_eq!(from_first.status, 200);
    let from_second = second.get(&avatar_url, None).await;
    assert_eq!(from_first.headers["content-type"], from_second.headers["content-type"]);
    assert_eq!(from_first.body, from_second.body);
    assert!(!from_first.body.is_empty());
    assert!(first.get("/healthz", None).await.status.is_success());

    first.shutdown().await;
    // A server stopping ends none of the shared state.
    assert_eq!(second.me(second_token).await.expect(200), with_avatar);
    second.shutdown().await;
}

/// An unreachable Redis fails the start the same way, only after the connection manager's
/// retries (about ten seconds), too slow to wait for here.
#[tokio::test]
async fn a_bad_redis_url_stops_the_start() {
    let config = Config {
        database: Database::Redis("not a url".into()),
        ..config()
    };
    let error = parley_signal::Server::bind(config)
        .await
        .err()
        .expect("no server without its database")
        .to_string();
    assert!(
        error.starts_with("cannot open the database: database error:"),
        "{error}"
    );
}
