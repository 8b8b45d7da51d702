//! ICE server list for clients, with coturn "REST API" style TURN credentials when a shared
//! secret is configured: username `EXPIRY:USER_ID`, credential base64(HMAC-SHA1(secret, username)).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::config::IceConfig;
use parley_protocol::IceServer;

pub fn ice_servers(config: &IceConfig, user_id: &str, now_unix: i64) -> Vec<IceServer> {
    let mut servers = Vec::new();
    if !config.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: config.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if !config.turn_urls.is_empty() {
        let (username, credential) = match &config.turn_secret {
            Some(secret) => {
                let expiry = now_unix.saturating_add(config.turn_credential_ttl.as_secs() as i64);
                let username = format!("{expiry}:{user_id}");
                (Some(username.clone()), Some(turn_credential(secret, &username)))
            }
            None => (config.turn_username.clone(), config.turn_credential.clone()),
        };
        servers.push(IceServer {
            urls: config.turn_urls.clone(),
            username,
            credential,
        });
    }
    servers
}

fn turn_credential(secret: &str, username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn turn_rest_credentials() {
        let config = IceConfig {
            stun_urls: vec!["stun:stun.example.org:3478".into()],
            turn_urls: vec!["turn:turn.example.org:3478".into()],
            turn_secret: Some("s3cret".into()),
            turn_credential_ttl: Duration::from_secs(60),
            ..IceConfig::default()
        };
        let servers = ice_servers(&config, "u1", 1_000);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].username.as_deref(), Some("1060:u1"));
        // Reference value: printf '1060:u1' | openssl dgst -sha1 -hmac s3cret -binary | base64
        assert_eq!(servers[1].credential.as_deref(), Some("4E5WTJouqxq8RY2sGVnyWcem9n4="));
    }

    #[test]
    fn empty_config_gives_no_servers() {
        assert!(ice_servers(&IceConfig::default(), "u", 0).is_empty());
    }
}
