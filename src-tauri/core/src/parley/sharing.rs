//! "Let others join": the "This device" server, which normally answers this computer only,
//! also listens on the local network over HTTPS, with a self-signed certificate whose
//! fingerprint travels in the invite (text and QR code), so the devices that join pin it and
//! nobody needs to know about certificates. Turning it off closes the port.
//!
//! The certificate is made once per profile and kept with its key in the OS keyring (never in a
//! file), so invites handed out earlier stay valid across restarts.

use parley_protocol::{Fingerprint, Invite};
use parley_signal::{self_signed, TlsSource};

use super::Parley;
use crate::discovery::{self, Announcement, DiscoveredServer};
use crate::error::CoreError;
use crate::models::Sharing;

/// This device's server while open to others.
pub(super) struct OpenServer {
    listener: parley_signal::ExtraListener,
    info: Sharing,
    /// Its multicast DNS announcement (none where multicast is unavailable).
    announcement: Option<Announcement>,
}

/// Keyring entries of the sharing certificate (per profile).
const CERT_SECRET: &str = "this-device-tls-cert";
const KEY_SECRET: &str = "this-device-tls-key";

impl Parley {
    /// Opens this device's server to others on the network (or closes it, sending away the
    /// devices that joined through it), starting it if need be. Fails when another Parley
    /// process on this computer hosts it.
    pub async fn set_sharing(&self, on: bool) -> Result<Option<Sharing>, CoreError> {
        let mut sharing = self.inner.sharing.lock().await;
        if let (true, Some(open)) = (on, sharing.as_mut()) {
            // Already open: devices that joined stay; only the invites follow this computer's
            // addresses, which may have changed since.
            open.info = describe(open.listener.local_addr().port(), open.listener.fingerprint());
            return Ok(Some(open.info.clone()));
        }
        if let Some(open) = sharing.take() {
            drop(open.announcement);
            open.listener.close().await;
            tracing::info!("this device's server no longer open to others");
        }
        if !on {
            return Ok(None);
        }
        self.this_device_url().await?;
        let tls = self.sharing_certificate().await?;
        let local = self.inner.this_device.lock().await;
        let server = local.as_ref().expect("started just above");
        let listener = server
            .share(self.inner.options.this_device.share_port, tls)
            .await
            .map_err(CoreError::ThisDeviceServer)?;
        let (port, fingerprint) = (listener.local_addr().port(), listener.fingerprint());
        let info = describe(port, fingerprint);
        tracing::info!(port, fingerprint = %info.fingerprint, "this device's server open to others");
        let addresses = parley_signal::local_addresses();
        let announce = self.inner.options.this_device.announce;
        let announcement = match announce.then(|| Announcement::start(&hostname(), &addresses, port, fingerprint)) {
            None => None,
            Some(Ok(a)) => Some(a),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "not announced on the local network: invites still work");
                None
            }
        };
        *sharing = Some(OpenServer {
            listener,
            info: info.clone(),
            announcement,
        });
        Ok(Some(info))
    }

    /// Whether this device's server is open to others, and how to join it.
    pub async fn sharing(&self) -> Option<Sharing> {
        self.inner.sharing.lock().await.as_ref().map(|open| open.info.clone())
    }

    /// Parley servers on the local network that let others join, listening for `wait` (about
    /// two seconds finds those that are up). Suggestions only: their fingerprints must still
    /// be confirmed with their owners.
    pub async fn discover_servers(&self, wait: std::time::Duration) -> Result<Vec<DiscoveredServer>, CoreError> {
        Ok(discovery::discover(wait).await?)
    }

    /// The profile's sharing certificate from the keyring, made on first use.
    async fn sharing_certificate(&self) -> Result<TlsSource, CoreError> {
        let (secrets, profile) = (self.inner.secrets.clone(), self.profile_id());
        let pair = tokio::task::spawn_blocking(move || -> Result<(String, String), CoreError> {
            if let (Some(cert), Some(key)) = (
                secrets.load_secret(&profile, CERT_SECRET)?,
                secrets.load_secret(&profile, KEY_SECRET)?,
            ) {
                return Ok((cert, key));
            }
            let host = hostname();
            let made = self_signed(&["localhost".to_owned(), format!("{host}.local")])
                .map_err(|e| CoreError::ThisDeviceServer(crate::this_device::ThisDeviceError::Start(e.into())))?;
            secrets.save_secret(&profile, KEY_SECRET, &made.key)?;
            secrets.save_secret(&profile, CERT_SECRET, &made.cert)?;
            Ok((made.cert, made.key))
        })
        .await
        .map_err(CoreError::Keyring)??;
        Ok(TlsSource::Pem {
            cert: pair.0,
            key: pair.1,
        })
    }
}

/// What others need to join: the invites for every address of this computer.
fn describe(port: u16, fingerprint: Fingerprint) -> Sharing {
    let addresses: Vec<String> = parley_signal::local_addresses()
        .into_iter()
        .map(|ip| std::net::SocketAddr::new(ip, port).to_string())
        .collect();
    let invites: Vec<String> = addresses
        .iter()
        .map(|address| {
            Invite {
                server: format!("https://{address}"),
                fingerprint,
            }
            .to_string()
        })
        .collect();
    Sharing {
        port,
        fingerprint: fingerprint.grouped(),
        qr_svg: invites.first().map(|i| crate::qr::svg(i)).unwrap_or_default(),
        invites,
        addresses,
    }
}

/// This computer's name, for the certificate (cosmetic: clients pin the fingerprint).
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| "parley".to_owned())
}
