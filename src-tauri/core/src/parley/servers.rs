//! What a person decides about a server's connection: trusting a certificate by its
//! fingerprint (from an invite, or compared by eye), and agreeing to plain HTTP to another
//! machine. Both are kept in the profile, per server, and consulted at every sign-in and restart.

use parley_protocol::{Fingerprint, Invite};

use super::Parley;
use crate::error::CoreError;
use crate::profile_dir::ServerTrust;
use crate::server_url::ServerUrl;

/// A server as it will be reached: its address and the certificate pinned for it, if any.
#[derive(Debug, Clone)]
pub(super) struct ServerAccess {
    pub(super) url: ServerUrl,
    pub(super) pin: Option<Fingerprint>,
}

impl Parley {
    /// Trusts `url`'s certificate with this fingerprint (as the server's owner reads it out, or
    /// as a refused sign-in reported it and the person compared): from now on exactly that
    /// certificate is accepted for it, and any other refused.
    pub fn trust_server(&self, url: &str, fingerprint: &str) -> Result<(), CoreError> {
        let server = ServerUrl::parse(url)?;
        let fingerprint: Fingerprint = fingerprint.parse()?;
        tracing::info!(server = %server, %fingerprint, "server certificate trusted");
        self.change_trust(&server, |t| t.pin = Some(fingerprint.to_string()))
    }

    /// The person agreed to sign in to `url` over plain HTTP although it is another machine.
    pub fn allow_plain_http(&self, url: &str) -> Result<(), CoreError> {
        let server = ServerUrl::parse(url)?;
        tracing::warn!(server = %server, "plain HTTP to another machine agreed to");
        self.change_trust(&server, |t| t.plain_http = true)
    }

    /// Forgets the pinned certificate and the plain-HTTP agreement for `url`.
    pub fn forget_server_trust(&self, url: &str) -> Result<(), CoreError> {
        let server = ServerUrl::parse(url)?;
        self.inner.profile.lock().remember(|r| {
            r.servers.remove(server.as_str());
        })?;
        Ok(())
    }

    fn change_trust(&self, server: &ServerUrl, change: impl FnOnce(&mut ServerTrust)) -> Result<(), CoreError> {
        self.inner
            .profile
            .lock()
            .remember(|r| change(r.servers.entry(server.as_str().to_owned()).or_default()))?;
        Ok(())
    }

    fn trust_of(&self, server: &ServerUrl) -> ServerTrust {
        self.inner
            .profile
            .lock()
            .remembered()
            .servers
            .get(server.as_str())
            .cloned()
            .unwrap_or_default()
    }

    /// How to reach `server` as this profile trusts it. Plain HTTP to another machine needs the
    /// person's agreement first ([`Parley::allow_plain_http`]).
    pub(super) fn access(&self, server: ServerUrl) -> Result<ServerAccess, CoreError> {
        let trust = self.trust_of(&server);
        if server.is_plain_remote() && !trust.plain_http {
            return Err(CoreError::PlainHttp(server.to_string()));
        }
        // A pin that no longer reads (an older or edited profile) pins nothing: the public
        // authorities decide, which refuses a self-signed server rather than trusting it.
        let pin = trust.pin.as_deref().and_then(|p| p.parse().ok());
        Ok(ServerAccess { url: server, pin })
    }

    /// The server a sign-in names: an address, or an invite (whose fingerprint is trusted for
    /// its server from now on).
    pub(super) fn chosen_access(&self, url: &str) -> Result<ServerAccess, CoreError> {
        if Invite::looks_like(url) {
            let invite: Invite = url.parse()?;
            let server = ServerUrl::parse(&invite.server)?;
            self.change_trust(&server, |t| t.pin = Some(invite.fingerprint.to_string()))?;
            return self.access(server);
        }
        self.access(ServerUrl::parse(url)?)
    }
}
