//! `parley-cli`: Parley without a window, on the same front door as the app
//! (`parley_core::Parley`). For scripting, bots and black-box tests. Data goes to stdout as one
//! JSON object per line; errors go to stderr as `{"error":{"code","message"}}` with exit status 1.

// Printing is this program's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod online;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use parley_core::{
    Connection, CoreError, ErrorInfo, FileSettings, Parley, ParleyOptions, PeerConfig, ServerChoice, Snapshot,
    StoreKind, User,
};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "parley-cli",
    version,
    about = "Parley from the command line: accounts, rooms, peer-to-peer chat, history"
)]
struct Cli {
    /// Profile directory (what this device remembers, history, lock). Default: $PARLEY_PROFILE,
    /// else $XDG_DATA_HOME/parley/cli (~/.local/share/parley/cli).
    #[arg(long, global = true, env = "PARLEY_PROFILE")]
    profile: Option<PathBuf>,
    /// Signaling server URL, or an invite (`parley://join?…`: the address and the certificate
    /// to trust); remembered by the profile after a successful sign-in.
    #[arg(long, global = true, env = "PARLEY_SERVER")]
    server: Option<String>,
    /// Agree to sign in over plain http:// to a server on another machine (the password and
    /// session cross the network unencrypted); remembered for that server.
    #[arg(long, global = true, env = "PARLEY_ALLOW_PLAIN_HTTP",
          action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    allow_plain_http: bool,
    /// Where the session token is kept: os (default), keyutils, memory.
    #[arg(long, global = true, env = "PARLEY_KEYRING")]
    keyring: Option<StoreKind>,
    /// Only use 127.0.0.1 for peer connections (tests on a machine with other interfaces).
    #[arg(long, global = true, env = "PARLEY_LOOPBACK_ONLY", hide = true,
          action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    loopback_only: bool,
    /// Where received files go. Default: $PARLEY_DOWNLOADS, else the download folder's
    /// `Parley` subfolder.
    #[arg(long, global = true, env = "PARLEY_DOWNLOADS")]
    downloads: Option<PathBuf>,
    /// Files up to this many bytes are received without asking (default 100 MiB); larger ones
    /// wait for `accept USER ID`.
    #[arg(long, global = true, env = "PARLEY_AUTO_ACCEPT")]
    auto_accept: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an account (password from PARLEY_PASSWORD or a prompt) and sign in.
    Register {
        username: String,
        email: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Sign in with a username or email (password from PARLEY_PASSWORD or a prompt).
    Login { login: String },
    /// Sign out and remove the token from the keyring; the history stays unless asked.
    Logout {
        /// Also delete every conversation of this profile from this device.
        #[arg(long)]
        delete_history: bool,
    },
    /// Print the recovery code of this profile's encrypted history (keep it away from this
    /// computer: with it, the history opens even if the keyring is lost).
    RecoveryCode,
    /// Put the history's key back into the keyring from its recovery code, when the history is
    /// locked (a new or reset keyring).
    Recover { code: String },
    /// Print the signed-in user.
    Whoami,
    /// List the server's rooms.
    Rooms,
    /// List who is in a room.
    Peers { room: String },
    /// Stay online: print events as JSON lines; read `msg USER TEXT`, `reply|edit USER ID TEXT`,
    /// `delete|hide USER ID`, `react USER ID EMOJI`, `read USER`, `file USER PATH`,
    /// `accept|decline|cancel|resume USER ID`, `quit` on stdin. File transfers also print lines
    /// with a `type`: offered, progress (about once a second), complete (path, sha256), failure
    /// (code).
    Online {
        /// Rooms to join (repeatable).
        #[arg(long = "room", required = true)]
        rooms: Vec<String>,
    },
    /// Print a conversation from the local history, oldest first (works with no server).
    History {
        username: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Search all conversations in the local history (works with no server).
    Search {
        text: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print the messages not yet acknowledged by their recipients, oldest first (works with no
    /// server).
    Outbox,
    /// Print the safety numbers to compare with a contact, one per device of theirs met (works
    /// with no server). Both of you see the same 60 digits unless someone is in between.
    SafetyNumber { username: String },
    /// Mark a contact verified after comparing safety numbers: if their key ever changes,
    /// nothing is sent to them until you accept the change.
    Verify { username: String },
    /// Accept a contact's changed identity key (compare the new safety number first).
    AcceptIdentity { username: String },
    /// Print this device's identity key.
    IdentityKey,
    /// Trust the --server's certificate with this SHA-256 fingerprint (as its owner reads it
    /// out): only that certificate is accepted for it from now on.
    TrustServer { fingerprint: String },
    /// Open this computer's "This device" server to others on the network (HTTPS with a
    /// self-signed certificate, announced by multicast DNS) until stdin closes or interrupted;
    /// prints the port, the fingerprint and the invites.
    Share {
        /// The port others join on.
        #[arg(long, default_value_t = parley_core::ThisDevice::DEFAULT_SHARE_PORT)]
        port: u16,
        /// The loopback port of this device's server.
        #[arg(long, default_value_t = parley_core::ThisDevice::DEFAULT_PORT)]
        local_port: u16,
    },
    /// List Parley servers on the local network that let others join (multicast DNS), one JSON
    /// line each, after listening for --wait seconds.
    Discover {
        #[arg(long, default_value_t = 3)]
        wait: u64,
    },
    /// Run the signaling server in this process until interrupted.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7890")]
        listen: SocketAddr,
        /// Server database (default: server.db in the profile directory).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Serve HTTPS with a self-signed certificate kept in this directory (made on first
        /// start); prints its fingerprint and an invite.
        #[arg(long, value_name = "DIR")]
        tls_self_signed: Option<PathBuf>,
    },
}

/// What went wrong, as the person reads it: the core's errors, and the command line's own.
#[derive(Debug)]
enum Failure {
    Core(CoreError),
    /// Signed in, but the server is out of reach (the snapshot's error says why).
    Offline(ErrorInfo),
    NoPassword(std::io::Error),
    ServerStart(parley_signal::StartError),
    ServerStopped(std::io::Error),
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        Failure::Core(e)
    }
}

impl Failure {
    fn code(&self) -> String {
        match self {
            Failure::Core(e) => e.code(),
            Failure::Offline(error) => error.code.clone(),
            Failure::NoPassword(_) => "no_password".into(),
            Failure::ServerStart(_) => "server_start_failed".into(),
            Failure::ServerStopped(_) => "server_failed".into(),
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Core(e) => e.to_string(),
            Failure::Offline(error) => error.message.clone(),
            Failure::NoPassword(e) => format!("cannot read a password (set PARLEY_PASSWORD): {e}"),
            Failure::ServerStart(e) => format!("the signaling server did not start: {e}"),
            Failure::ServerStopped(e) => format!("the signaling server stopped: {e}"),
        }
    }
}

#[derive(Serialize)]
struct ErrorLine {
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    code: String,
    message: String,
}

fn print_json(value: &impl Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// `<data>/parley/NAME`: `$XDG_DATA_HOME`, else `~/.local/share`.
fn data_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("parley").join(name)
}

fn password(prompt: &str) -> Result<String, Failure> {
    if let Ok(password) = std::env::var("PARLEY_PASSWORD") {
        return Ok(password);
    }
    rpassword::prompt_password(prompt).map_err(Failure::NoPassword)
}

async fn terminated() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() {
    let filter = std::env::var("PARLEY_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(failure) = run(cli).await {
        let line = ErrorLine {
            error: ErrorBody {
                code: failure.code(),
                message: failure.message(),
            },
        };
        let _ = serde_json::to_writer(std::io::stderr(), &line);
        eprintln!();
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let profile = cli.profile.unwrap_or_else(|| data_dir("cli"));
    if let Command::Serve {
        listen,
        db,
        tls_self_signed,
    } = cli.command
    {
        return serve(listen, db.unwrap_or_else(|| profile.join("server.db")), tls_self_signed).await;
    }
    let keyring = match cli.keyring {
        Some(kind) => kind,
        None => StoreKind::from_env().map_err(CoreError::from)?,
    };
    let options = ParleyOptions {
        keyring,
        peer: if cli.loopback_only {
            PeerConfig::loopback()
        } else {
            PeerConfig::default()
        },
        // The command line always names its server; this is where the app's would live.
        ..ParleyOptions::new(data_dir("server"))
    };
    let mut options = options;
    if let Command::Share { port, local_port } = &cli.command {
        // Its own server data beside the profile, so `share` never touches another's.
        options.this_device.dir = profile.join("this-device");
        options.this_device.port = *local_port;
        options.this_device.share_port = *port;
    }
    if let Command::Recover { code } = &cli.command {
        let (parley, _events) = Parley::unlock(&profile, options, code)?;
        parley.shutdown().await;
        print_json(&serde_json::json!({ "recovered": true }));
        return Ok(());
    }
    let (parley, events) = Parley::open(&profile, options)?;
    // A terminal has no camera or speaker: a call to this device is answered "unsupported"
    // and shows up as a missed call (the `call` and `message` events say so).
    parley.set_calls_supported(false);
    if cli.downloads.is_some() || cli.auto_accept.is_some() {
        let defaults = parley.file_settings();
        let settings = FileSettings {
            downloads: cli.downloads.or(defaults.downloads),
            auto_accept_bytes: cli.auto_accept.unwrap_or(defaults.auto_accept_bytes),
        };
        if let Err(e) = parley.set_file_settings(settings) {
            parley.shutdown().await;
            return Err(e.into());
        }
    }
    if let (true, Some(server)) = (cli.allow_plain_http, &cli.server) {
        if let Err(e) = parley.allow_plain_http(server) {
            parley.shutdown().await;
            return Err(e.into());
        }
    }
    let result = command(&parley, events, cli.server, cli.command).await;
    parley.shutdown().await;
    result
}

async fn command(
    parley: &Parley,
    events: tokio::sync::mpsc::UnboundedReceiver<parley_core::CoreEvent>,
    server: Option<String>,
    command: Command,
) -> Result<(), Failure> {
    match command {
        Command::Register {
            username,
            email,
            display_name,
        } => {
            let password = password("Choose a password: ")?;
            let choice = server_choice(parley, server)?;
            let snapshot = parley
                .sign_up(choice, &username, &email, &password, display_name.as_deref())
                .await?;
            print_json(&snapshot.me);
        }
        Command::Login { login } => {
            let password = password("Password: ")?;
            let choice = server_choice(parley, server)?;
            print_json(&parley.sign_in(choice, &login, &password).await?.me);
        }
        Command::Logout { delete_history } => {
            // Tell the server when it can be reached; the token goes from the keyring anyway.
            if let Ok(choice) = server_choice(parley, server) {
                let _ = parley.restore(choice).await;
            }
            parley.sign_out(!delete_history).await?;
        }
        Command::Whoami => print_json(&signed_in(parley, server).await?),
        Command::Rooms => {
            signed_in(parley, server).await?;
            for room in parley.room_directory().await? {
                print_json(&room);
            }
        }
        Command::Peers { room } => {
            signed_in(parley, server).await?;
            for peer in parley.room_peers(&room).await? {
                print_json(&peer);
            }
        }
        Command::Online { rooms } => {
            signed_in(parley, server).await?;
            online::run(parley, events, &rooms).await?;
        }
        Command::History { username, limit } => {
            let contact = parley.find_contact(&username).await?;
            let page = parley
                .history_page(&contact.id, None, Some(limit.clamp(1, 1000)))
                .await?;
            for message in page.messages.iter().rev() {
                print_json(message);
            }
        }
        Command::Search { text, limit } => {
            for hit in parley.search(&text, None, None, Some(limit.clamp(1, 1000))).await? {
                print_json(&hit);
            }
        }
        Command::RecoveryCode => {
            print_json(&serde_json::json!({ "recovery_code": parley.recovery_code()? }));
            parley.recovery_code_saved()?;
        }
        Command::Recover { .. } => unreachable!("handled before the profile is opened"),
        Command::Outbox => {
            for message in parley.outbox(None).await? {
                print_json(&message);
            }
        }
        Command::SafetyNumber { username } => {
            let contact = parley.find_contact(&username).await?;
            for number in parley.safety_numbers(&contact.id).await? {
                print_json(&serde_json::json!({
                    "user": contact.username,
                    "device": number.device,
                    "safety_number": number.number,
                    "verified": number.verified,
                    "changed": number.changed,
                }));
            }
        }
        Command::Verify { username } => {
            let contact = parley.find_contact(&username).await?;
            let devices = parley.verify_contact(&contact.id).await?;
            print_json(&serde_json::json!({ "verified": contact.username, "devices": devices }));
        }
        Command::AcceptIdentity { username } => {
            let contact = parley.find_contact(&username).await?;
            let changed = parley.accept_identity(&contact.id).await?;
            print_json(&serde_json::json!({ "accepted": contact.username, "devices": changed }));
        }
        Command::IdentityKey => print_json(&serde_json::json!({ "identity_key": parley.identity_key() })),
        Command::Share { .. } => {
            let sharing = parley.set_sharing(true).await?;
            print_json(&sharing);
            // Until stdin closes (the parent went) or a signal.
            let stdin_closed = tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            });
            tokio::select! {
                _ = stdin_closed => {}
                () = terminated() => {}
            }
            parley.set_sharing(false).await?;
        }
        Command::Discover { wait } => {
            for server in parley.discover_servers(std::time::Duration::from_secs(wait)).await? {
                print_json(&server);
            }
        }
        Command::TrustServer { fingerprint } => {
            let server = server.ok_or(CoreError::NoServer)?;
            parley.trust_server(&server, &fingerprint)?;
            print_json(&serde_json::json!({ "trusted": server, "fingerprint": fingerprint }));
        }
        Command::Serve { .. } => unreachable!("handled before the profile is opened"),
    }
    Ok(())
}

/// The server to use: the one named on the command line, else the one the profile remembers.
fn server_choice(parley: &Parley, server: Option<String>) -> Result<ServerChoice, CoreError> {
    server
        .or(parley.snapshot().server_url)
        .map(|url| ServerChoice::Url { url })
        .ok_or(CoreError::NoServer)
}

/// Resumes the session kept in the keyring; an error when there is none or the server cannot be
/// reached (the command needs it).
async fn signed_in(parley: &Parley, server: Option<String>) -> Result<User, Failure> {
    let choice = server_choice(parley, server).map_err(|_| CoreError::NotSignedIn)?;
    let snapshot = parley.restore(choice).await?;
    session_user(snapshot)
}

fn session_user(snapshot: Snapshot) -> Result<User, Failure> {
    match (snapshot.connection, snapshot.me, snapshot.error) {
        (Connection::SignedOut, _, _) | (_, None, _) => Err(CoreError::NotSignedIn.into()),
        (Connection::Offline, _, Some(error)) => Err(Failure::Offline(error)),
        (_, Some(user), _) => Ok(user),
    }
}

async fn serve(listen: SocketAddr, db: PathBuf, tls_self_signed: Option<PathBuf>) -> Result<(), Failure> {
    let config = parley_signal::Config {
        listen,
        database: parley_signal::Database::Path(db),
        tls: tls_self_signed.map(|dir| parley_signal::TlsSource::SelfSigned {
            dir,
            names: vec!["localhost".to_owned(), listen.ip().to_string()],
        }),
        ..Default::default()
    };
    let server = parley_signal::Server::bind(config)
        .await
        .map_err(Failure::ServerStart)?;
    println!("parley-signal listening on {}", server.url());
    if let Some(tls) = server.tls() {
        let invite = parley_signal::Invite {
            server: server.url(),
            fingerprint: tls.fingerprint(),
        };
        println!("certificate fingerprint: {}", invite.fingerprint);
        println!("invite: {invite}");
    }
    server.run_until(terminated()).await.map_err(Failure::ServerStopped)
}
