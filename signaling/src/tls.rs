//! HTTPS and WSS served by the server itself (rustls): a certificate from PEM files, reloaded
//! when they change so that an external renewer (certbot, acme.sh) needs no restart; or a
//! self-signed certificate the server makes once and keeps, for a LAN server that clients trust
//! by its fingerprint (`parley_protocol::Invite`).
//!
//! The TLS handshake runs in a task per connection, beside the accept loop, so that one slow or
//! silent client cannot hold up the next: axum only ever sees finished handshakes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::serve::Listener;
use parking_lot::{Mutex, RwLock};
use parley_protocol::Fingerprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Where the server's certificate comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files (`--tls-cert`, `--tls-key`): the certificate chain and its private key. Read
    /// again when either file changes.
    Files {
        /// Certificate chain, leaf first.
        cert: PathBuf,
        /// PKCS#8, PKCS#1 or SEC1 private key.
        key: PathBuf,
    },
    /// A self-signed certificate kept in `dir` (`cert.pem`, `key.pem`, made on first start),
    /// valid for `names` (host names or IP addresses).
    SelfSigned {
        /// Where it is kept.
        dir: PathBuf,
        /// Subject alternative names for a new certificate.
        names: Vec<String>,
    },
    /// A certificate and key in memory: the app keeps its key in the OS keyring, never in a file.
    Pem {
        /// Certificate chain, PEM.
        cert: String,
        /// Private key, PEM.
        key: String,
    },
}

impl std::fmt::Debug for TlsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        match self {
            TlsSource::Files { cert, key } => f.debug_struct("Files").field("cert", cert).field("key", key).finish(),
            TlsSource::SelfSigned { dir, names } => f
                .debug_struct("SelfSigned")
                .field("dir", dir)
                .field("names", names)
                .finish(),
            TlsSource::Pem { .. } => f.write_str("Pem { .. }"),
        }
    }
}

/// Why the server has no usable certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} holds no usable {expected} (PEM expected): {detail}")]
    Pem {
        what: String,
        expected: &'static str,
        detail: String,
    },
    #[error("the private key does not fit a supported signature scheme: {0}")]
    Key(String),
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
}

/// A self-signed certificate and its key, PEM.
#[derive(Clone)]
pub struct SelfSigned {
    /// The certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
}

/// Makes a self-signed certificate for `names` (host names or IP addresses).
pub fn self_signed(names: &[String]) -> Result<SelfSigned, TlsError> {
    let mut names = names.to_vec();
    if names.is_empty() {
        names.push("localhost".to_owned());
    }
    let made = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok(SelfSigned {
        cert: made.cert.pem(),
        key: made.signing_key.serialize_pem(),
    })
}

/// The certificate in use, swapped in place when its files change.
pub(crate) struct Certificates {
    source: TlsSource,
    current: RwLock<(Arc<CertifiedKey>, Fingerprint)>,
    /// The files' modification times when last read.
    seen: Mutex<Option<(SystemTime, SystemTime)>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("source", &self.source)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

impl Certificates {
    pub(crate) fn load(source: TlsSource) -> Result<Arc<Certificates>, TlsError> {
        let (cert, key, seen) = read_source(&source)?;
        let current = certified(&cert, &key, &source_name(&source))?;
        Ok(Arc::new(Certificates {
            source,
            current: RwLock::new(current),
            seen: Mutex::new(seen),
        }))
    }

    pub(crate) fn fingerprint(&self) -> Fingerprint {
        self.current.read().1
    }

    /// Reads the files again if they changed since the last read. A broken new pair keeps the
    /// old one in service (and says why): a renewer writing the two files one after the other
    /// must not take the server down between them.
    pub(crate) fn reload_if_changed(&self, force: bool) -> Result<bool, TlsError> {
        let TlsSource::Files { cert, key } = &self.source else {
            return Ok(false);
        };
        let times = (modified(cert)?, modified(key)?);
        if !force && *self.seen.lock() == Some(times) {
            return Ok(false);
        }
        let (cert_pem, key_pem, seen) = read_source(&self.source)?;
        let loaded = certified(&cert_pem, &key_pem, &source_name(&self.source))?;
        let fingerprint = loaded.1;
        *self.current.write() = loaded;
        *self.seen.lock() = seen.or(Some(times));
        tracing::info!(%fingerprint, "TLS certificate reloaded");
        Ok(true)
    }

    pub(crate) fn server_config(self: &Arc<Certificates>) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        // HTTP/1.1 only: the WebSocket upgrade is an HTTP/1.1 mechanism, and a client that
        // picked h2 would need extended CONNECT for it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().0.clone())
    }
}

fn source_name(source: &TlsSource) -> String {
    match source {
        TlsSource::Files { cert, .. } => cert.display().to_string(),
        TlsSource::SelfSigned { dir, .. } => dir.display().to_string(),
        TlsSource::Pem { .. } => "the certificate given".to_owned(),
    }
}

fn modified(path: &Path) -> Result<SystemTime, TlsError> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
}

type PemPair = (String, String, Option<(SystemTime, SystemTime)>);

fn read_source(source: &TlsSource) -> Result<PemPair, TlsError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    match source {
        TlsSource::Files { cert, key } => {
            let times = (modified(cert)?, modified(key)?);
            Ok((read(cert)?, read(key)?, Some(times)))
        }
        TlsSource::Pem { cert, key } => Ok((cert.clone(), key.clone(), None)),
        TlsSource::SelfSigned { dir, names } => {
            let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert_path.exists() || !key_path.exists() {
                let made = self_signed(names)?;
                std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
                    path: dir.clone(),
                    source,
                })?;
                write_private(&key_path, &made.key)?;
                std::fs::write(&cert_path, &made.cert).map_err(|source| TlsError::Write {
                    path: cert_path.clone(),
                    source,
                })?;
                tracing::info!(dir = %dir.display(), "made a self-signed certificate");
            }
            Ok((read(&cert_path)?, read(&key_path)?, None))
        }
    }
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| TlsError::Write {
            path: path.to_owned(),
            source,
        })
}

fn certified(cert_pem: &str, key_pem: &str, what: &str) -> Result<(Arc<CertifiedKey>, Fingerprint), TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            what: what.to_owned(),
            expected: "certificate",
            detail: e.to_string(),
        })?;
    let leaf = chain.first().ok_or_else(|| TlsError::Pem {
        what: what.to_owned(),
        expected: "certificate",
        detail: "no CERTIFICATE block".to_owned(),
    })?;
    let fingerprint = Fingerprint::of_certificate(leaf);
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| TlsError::Pem {
        what: what.to_owned(),
        expected: "private key",
        detail: e.to_string(),
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Key(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| TlsError::Key(format!("it does not belong to the certificate ({e})")))?;
    Ok((Arc::new(certified), fingerprint))
}

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more connections wait in the kernel's backlog.
const HANDSHAKES: usize = 256;

/// A TCP listener whose connections come out TLS-terminated.
pub(crate) struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, certificates: &Arc<Certificates>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(certificates.server_config()));
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener { local, ready, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // The loop owns the socket: ending it closes the port.
        self.acceptor.abort();
    }
}

async fn accept_loop(tcp: TcpListener, acceptor: TlsAcceptor, ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>) {
    let slots = Arc::new(Semaphore::new(HANDSHAKES));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: as axum's own loop does, wait and go on.
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, handed) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = handed.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
        if ready.is_closed() {
            return;
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let source = TlsSource::SelfSigned {
            dir: dir.path().join("tls"),
            names: vec!["parley.local".into(), "192.168.1.20".into()],
        };
        let first = Certificates::load(source.clone()).unwrap().fingerprint();
        let again = Certificates::load(source).unwrap().fingerprint();
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
        }
    }

    #[test]
    fn files_are_reloaded_when_they_change_and_a_broken_pair_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let one = self_signed(&["a.example".into()]).unwrap();
        std::fs::write(&cert, &one.cert).unwrap();
        std::fs::write(&key, &one.key).unwrap();
        let certs = Certificates::load(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        })
        .unwrap();
        let before = certs.fingerprint();
        assert!(!certs.reload_if_changed(false).unwrap(), "nothing changed yet");

        let two = self_signed(&["b.example".into()]).unwrap();
        std::fs::write(&cert, &two.cert).unwrap();
        // Half-way through a renewal: the new certificate with the old key.
        assert!(matches!(certs.reload_if_changed(true), Err(TlsError::Key(_))));
        assert_eq!(certs.fingerprint(), before, "the old pair stays in service");
        std::fs::write(&key, &two.key).unwrap();
        assert!(certs.reload_if_changed(true).unwrap());
        assert_ne!(certs.fingerprint(), before);
    }

    #[test]
    fn garbage_in_place_of_pem_says_which_file_and_what() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, "hello").unwrap();
        std::fs::write(&key, "world").unwrap();
        let e = Certificates::load(TlsSource::Files { cert, key })
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.pem") && e.contains("certificate"), "{e}");
        let missing = Certificates::load(TlsSource::Files {
            cert: dir.path().join("nope.pem"),
            key: dir.path().join("k.pem"),
        })
        .unwrap_err()
        .to_string();
        assert!(missing.contains("nope.pem"), "{missing}");
    }
}
