//! Finding shared "This device" servers on the local network: a server that lets others join
//! announces itself by DNS-SD over multicast DNS (`_parley._tcp.local.`, with its certificate's
//! fingerprint in the TXT record), and the sign-in screen lists what answers.
//!
//! What arrives here is whatever anyone on the network multicasts, so it is only ever a
//! suggestion: the name is cleaned and shown as text, and the person still confirms the
//! fingerprint with the server's owner (or uses the invite) before anything is trusted.
//! Multicast does not cross routers, which is the point: only the local segment is searched.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};
use parley_protocol::{Fingerprint, Invite};
use serde::Serialize;

/// The DNS-SD service type of a Parley server.
const SERVICE: &str = "_parley._tcp.local.";
/// Longest server name shown (a name is the multicaster's to choose).
const MAX_NAME_CHARS: usize = 64;
/// Most servers listed from one search (a flood of announcements lists no more).
const MAX_FOUND: usize = 32;

/// A server found on the local network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DiscoveredServer {
    /// What it calls itself ("Parley on kim-laptop"), cleaned: show as text only.
    pub name: String,
    /// Where it answers, `192.168.1.20:7891`.
    pub address: String,
    /// Its certificate's fingerprint as it announced it, grouped for comparing by eye.
    pub fingerprint: String,
    /// The invite made of the two: signing in with it pins that certificate.
    pub invite: String,
}

/// Why the local network cannot be searched or announced on.
#[derive(Debug, thiserror::Error)]
#[error("multicast DNS is unavailable: {0}")]
pub struct DiscoveryError(String);

impl From<mdns_sd::Error> for DiscoveryError {
    fn from(e: mdns_sd::Error) -> Self {
        DiscoveryError(e.to_string())
    }
}

/// This server announced on the local network until dropped.
pub(crate) struct Announcement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl Announcement {
    /// Announces a server on `port` of `addresses` with `fingerprint`, named after `host`.
    pub(crate) fn start(
        host: &str,
        addresses: &[IpAddr],
        port: u16,
        fingerprint: Fingerprint,
    ) -> Result<Announcement, DiscoveryError> {
        let daemon = ServiceDaemon::new()?;
        let properties = [("v", "1"), ("fp", fingerprint.to_base64url().as_str())]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<std::collections::HashMap<String, String>>();
        let info = ServiceInfo::new(
            SERVICE,
            &format!("Parley on {host}"),
            &format!("{host}.local."),
            addresses,
            port,
            properties,
        )?;
        let fullname = info.get_fullname().to_owned();
        daemon.register(info)?;
        tracing::info!(%fullname, port, "announced on the local network");
        Ok(Announcement { daemon, fullname })
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        // A goodbye packet, so others drop it from their lists at once.
        let _ = self.daemon.unregister(&self.fullname);
        let _ = self.daemon.shutdown();
    }
}

/// Listens for `wait` and returns the Parley servers that announced themselves, by name.
pub(crate) async fn discover(wait: Duration) -> Result<Vec<DiscoveredServer>, DiscoveryError> {
    let daemon = ServiceDaemon::new()?;
    let events = daemon.browse(SERVICE)?;
    let mut found = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + wait;
    while found.len() < MAX_FOUND {
        let event = match tokio::time::timeout_at(deadline, events.recv_async()).await {
            Ok(Ok(event)) => event,
            _ => break,
        };
        if let ServiceEvent::ServiceResolved(service) = event {
            let addresses: Vec<IpAddr> = service.get_addresses_v4().into_iter().map(IpAddr::V4).collect();
            if let Some(server) = describe(
                service.get_fullname(),
                &addresses,
                service.get_port(),
                service.get_property_val_str("fp"),
            ) {
                found.entry(server.invite.clone()).or_insert(server);
            }
        }
    }
    let _ = daemon.stop_browse(SERVICE);
    let _ = daemon.shutdown();
    let mut servers: Vec<DiscoveredServer> = found.into_values().collect();
    servers.sort_by(|a, b| a.name.cmp(&b.name).then(a.address.cmp(&b.address)));
    Ok(servers)
}

/// A usable listing from an announcement, or None when it lacks what an invite needs.
fn describe(fullname: &str, addresses: &[IpAddr], port: u16, fp: Option<&str>) -> Option<DiscoveredServer> {
    let fingerprint: Fingerprint = fp?.parse().ok()?;
    let ip = addresses.iter().min()?;
    let address = std::net::SocketAddr::new(*ip, port).to_string();
    let invite = Invite {
        server: format!("https://{address}"),
        fingerprint,
    };
    Some(DiscoveredServer {
        name: clean_name(fullname.strip_suffix(SERVICE).unwrap_or(fullname)),
        address,
        fingerprint: fingerprint.grouped(),
        invite: invite.to_string(),
    })
}

/// A name as others may show it: DNS escapes undone where harmless, control and bidirectional
/// characters out, shortened.
fn clean_name(raw: &str) -> String {
    let name: String = raw
        .trim_end_matches('.')
        .replace("\\032", " ")
        .replace('\\', "")
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        })
        .take(MAX_NAME_CHARS)
        .collect();
    if name.trim().is_empty() {
        "Parley server".to_owned()
    } else {
        name.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_becomes_an_invite_and_a_clean_name() {
        let fp = Fingerprint::of_certificate(b"cert");
        let server = describe(
            "Parley on kim\\032laptop._parley._tcp.local.",
            &["192.168.1.20".parse().unwrap(), "10.0.0.2".parse().unwrap()],
            7891,
            Some(&fp.to_base64url()),
        )
        .unwrap();
        assert_eq!(server.name, "Parley on kim laptop");
        assert_eq!(server.address, "10.0.0.2:7891");
        assert_eq!(server.fingerprint, fp.grouped());
        let invite: Invite = server.invite.parse().unwrap();
        assert_eq!(
            (invite.server.as_str(), invite.fingerprint),
            ("https://10.0.0.2:7891", fp)
        );
    }

    #[test]
    fn announcements_without_a_fingerprint_or_address_are_not_listed_and_names_are_defused() {
        let fp = Fingerprint::of_certificate(b"cert").to_base64url();
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(describe("x._parley._tcp.local.", &[ip], 1, None).is_none());
        assert!(describe("x._parley._tcp.local.", &[ip], 1, Some("nope")).is_none());
        assert!(describe("x._parley._tcp.local.", &[], 1, Some(&fp)).is_none());
        let evil = describe(
            &format!("\u{202E}<img src=x onerror=alert(1)>\u{7}{}", "A".repeat(500)),
            &[ip],
            1,
            Some(&fp),
        )
        .unwrap();
        assert!(!evil.name.contains('\u{202E}') && !evil.name.contains('\u{7}'));
        assert!(evil.name.chars().count() <= MAX_NAME_CHARS);
        assert_eq!(clean_name("\u{7}\u{202E}"), "Parley server");
    }
}
