//! How the app checks the certificate of a signaling server, for HTTPS and WSS alike.
//!
//! Without a pin: the public certificate authorities (webpki's roots), as a browser does. With a
//! pin — the fingerprint from a server's invite, or one the person compared and accepted — that
//! exact certificate and nothing else: no authority and no host name enter into it, because a
//! server on a LAN has neither, and a certificate someone else made (even one signed by a public
//! authority) is refused. Either way the handshake's signatures are checked as usual.
//!
//! The certificate a server presented is remembered, so that a refusal can tell the person its
//! fingerprint to compare with what the server's owner reads out.

use std::sync::Arc;

use parking_lot::Mutex;
use parley_protocol::Fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why a server's certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertificateProblem {
    /// No pin, and no public authority vouches for it (self-signed, or an unknown CA).
    Untrusted {
        /// What the server presented.
        presented: Fingerprint,
    },
    /// Not the certificate that was pinned.
    Changed {
        /// The pin.
        expected: Fingerprint,
        /// What the server presented.
        presented: Fingerprint,
    },
}

/// The TLS settings for one server.
#[derive(Clone)]
pub(crate) struct ServerTls {
    config: Arc<ClientConfig>,
    verifier: Arc<Verifier>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("pin", &self.verifier.pin).finish()
    }
}

impl ServerTls {
    pub(crate) fn new(pin: Option<Fingerprint>) -> ServerTls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .expect("the bundled roots make a valid verifier");
        let verifier = Arc::new(Verifier {
            pin,
            webpki,
            provider: provider.clone(),
            last: Mutex::new(None),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        // The server speaks HTTP/1.1 (WebSocket upgrades); say so rather than leave it to guess.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        ServerTls {
            config: Arc::new(config),
            verifier,
        }
    }

    /// For reqwest's `use_preconfigured_tls` and tungstenite's `Connector::Rustls`.
    pub(crate) fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// Whether `error` is this verifier refusing the server's certificate, and which refusal.
    pub(crate) fn problem(&self, error: &(dyn std::error::Error + 'static)) -> Option<CertificateProblem> {
        // The rustls error reaches here wrapped by hyper or tungstenite in io::Errors whose
        // `source()` skips it, so the chain cannot be downcast reliably; its text can be read,
        // and the verifier knows what it refused.
        let mut current = Some(error);
        let mut refused = false;
        while let Some(e) = current {
            refused |= matches!(
                e.downcast_ref::<rustls::Error>(),
                Some(rustls::Error::InvalidCertificate(_))
            ) || e.to_string().contains("invalid peer certificate");
            current = e.source();
        }
        if !refused {
            return None;
        }
        let (presented, accepted) = (*self.verifier.last.lock())?;
        if accepted {
            return None;
        }
        Some(match self.verifier.pin {
            Some(expected) => CertificateProblem::Changed { expected, presented },
            None => CertificateProblem::Untrusted { presented },
        })
    }
}

#[derive(Debug)]
struct Verifier {
    pin: Option<Fingerprint>,
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    /// The last certificate a server presented through this verifier, and whether it passed.
    last: Mutex<Option<(Fingerprint, bool)>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_certificate(end_entity);
        let verdict = match self.pin {
            Some(pin) if pin == presented => Ok(ServerCertVerified::assertion()),
            Some(_) => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            None => self
                .webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
        };
        *self.last.lock() = Some((presented, verdict.is_ok()));
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
