//! The address of a signaling server, as people type it and as the profile and the keyring key
//! it.

use std::fmt;
use std::str::FromStr;

use parley_protocol::API_PREFIX;
use reqwest::Url;

/// A validated, normalised server base URL: `http` or `https`, a host, no credentials, query
/// or fragment, and no trailing slash. The same string keys the profile's settings and the
/// keyring entry, so `https://chat.example.org/` and `https://chat.example.org` must be one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl(Url);

/// Why a server URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a usable server address: {reason}")]
pub struct InvalidServerUrl {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ServerUrl {
    /// Accepts what people type: a missing scheme means `https`, except for loopback hosts,
    /// where a local server without TLS is the norm. A pasted `/api/v1` suffix is dropped.
    pub fn parse(input: &str) -> Result<ServerUrl, InvalidServerUrl> {
        let refuse = |reason: &str| InvalidServerUrl {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(refuse("it is empty"));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else if is_loopback_host(trimmed) {
            format!("http://{trimmed}")
        } else {
            format!("https://{trimmed}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|e| refuse(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse(&format!(
                "the scheme must be http or https, not {}",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refuse("it has no host name"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it must not contain a user name or password"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("it must not contain a query (?…) or fragment (#…)"));
        }
        let path = url.path().trim_end_matches('/');
        let path = path
            .strip_suffix(API_PREFIX)
            .unwrap_or(path)
            .trim_end_matches('/')
            .to_owned();
        url.set_path(&path);
        Ok(ServerUrl(url))
    }

    /// The URL of an endpoint, from unencoded path segments (room names may contain spaces
    /// and `#`, which must be escaped rather than end the path).
    pub fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.0.clone();
        url.path_segments_mut()
            .expect("http(s) URLs have a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// An endpoint under `/api/v1`.
    pub fn api(&self, segments: &[&str]) -> Url {
        let prefix = API_PREFIX.trim_start_matches('/').split('/');
        let all: Vec<&str> = prefix.chain(segments.iter().copied()).collect();
        self.endpoint(&all)
    }

    /// The signaling WebSocket, `ws(s)://…/api/v1/ws`.
    pub fn websocket(&self) -> Url {
        let mut url = self.api(&["ws"]);
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme).expect("ws and wss are valid for http(s) URLs");
        url
    }

    /// Resolves a path the server handed out, such as a user's `avatar_url`
    /// (`/api/v1/users/…/avatar?v=2`), against the base, keeping a reverse-proxy prefix.
    pub fn resolve(&self, server_path: &str) -> Result<Url, InvalidServerUrl> {
        let base = format!("{}/", self.as_str());
        let mut base = Url::parse(&base).expect("a valid base URL stays valid with a slash");
        let relative = server_path.trim_start_matches('/');
        base = base.join(relative).map_err(|e| InvalidServerUrl {
            input: server_path.to_owned(),
            reason: e.to_string(),
        })?;
        if base.origin() != self.0.origin() {
            return Err(InvalidServerUrl {
                input: server_path.to_owned(),
                reason: "it points to another server".to_owned(),
            });
        }
        Ok(base)
    }

    /// Plain `http://` to a host that is not this device: whatever is sent can be read, and
    /// changed, by anyone on the way.
    pub fn is_plain_remote(&self) -> bool {
        self.0.scheme() == "http" && !self.0.host_str().is_some_and(is_loopback_host)
    }

    /// The normalised URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

fn is_loopback_host(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.split(['/', ':']).next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({})", self.as_str())
    }
}

impl FromStr for ServerUrl {
    type Err = InvalidServerUrl;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServerUrl::parse(s)
    }
}

impl serde::Serialize for ServerUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ServerUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ServerUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised() {
        let cases = [
            ("https://chat.example.org/", "https://chat.example.org"),
            ("  https://chat.example.org  ", "https://chat.example.org"),
            ("chat.example.org", "https://chat.example.org"),
            ("localhost:7890", "http://localhost:7890"),
            ("127.0.0.1:7890", "http://127.0.0.1:7890"),
            ("[::1]:7890", "http://[::1]:7890"),
            ("HTTP://Example.ORG:80/", "http://example.org"),
            ("https://example.org/parley/", "https://example.org/parley"),
            ("https://example.org/parley/api/v1/", "https://example.org/parley"),
            ("http://127.0.0.1:7890/api/v1", "http://127.0.0.1:7890"),
        ];
        for (input, expected) in cases {
            let url = ServerUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.as_str(), expected, "{input}");
        }
    }

    #[test]
    fn unusable_server_urls_are_refused_with_a_reason() {
        for (input, reason) in [
            ("", "empty"),
            ("ftp://example.org", "http or https"),
            ("file:///etc/passwd", "http or https"),
            ("https://user:pw@example.org", "user name or password"),
            ("https://example.org/?x=1", "query"),
            ("https://", "empty host"),
        ] {
            let error = ServerUrl::parse(input).expect_err(input).to_string();
            assert!(error.contains(reason), "{input}: {error}");
        }
    }

    #[test]
    fn endpoints_escape_segments_and_keep_prefixes() {
        let url = ServerUrl::parse("https://example.org/parley").unwrap();
        assert_eq!(
            url.api(&["rooms", "tea #1", "peers"]).as_str(),
            "https://example.org/parley/api/v1/rooms/tea%20%231/peers"
        );
        assert_eq!(url.websocket().as_str(), "wss://example.org/parley/api/v1/ws");
        assert_eq!(
            url.endpoint(&["healthz"]).as_str(),
            "https://example.org/parley/healthz"
        );
        let local = ServerUrl::parse("http://127.0.0.1:7890").unwrap();
        assert_eq!(local.websocket().as_str(), "ws://127.0.0.1:7890/api/v1/ws");
        assert_eq!(
            url.resolve("/api/v1/users/ab/avatar?v=2").unwrap().as_str(),
            "https://example.org/parley/api/v1/users/ab/avatar?v=2"
        );
        assert!(url.resolve("https://evil.example/x").is_err());
    }
}
