//! `parley-cli`: Parley without a window, over the same core as the app. For scripting, bots
//! and black-box tests. Data goes to stdout as one JSON object per line; errors go to stderr as
//! `{"error":{"code","message"}}` with exit status 1.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use parley_core::events::CoreEvent;
use parley_core::peer::PeerConfig;
use parley_core::secrets::StoreKind;
use parley_core::{Core, CoreError, CoreOptions};
use parley_protocol::User;
use serde::Serialize;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(
    name = "parley-cli",
    version,
    about = "Parley from the command line: accounts, rooms, peer-to-peer chat, history"
)]
struct Cli {
    /// Profile directory (settings, history, lock). Default: $PARLEY_PROFILE, else
    /// $XDG_DATA_HOME/parley/cli (~/.local/share/parley/cli).
    #[arg(long, global = true, env = "PARLEY_PROFILE")]
    profile: Option<PathBuf>,
    /// Signaling server URL; remembered by the profile after a successful login.
    #[arg(long, global = true, env = "PARLEY_SERVER")]
    server: Option<String>,
    /// Where the session token is kept: os (default), keyutils, memory.
    #[arg(long, global = true, env = "PARLEY_KEYRING")]
    keyring: Option<StoreKind>,
    /// Only use 127.0.0.1 for peer connections (tests on a machine with other interfaces).
    #[arg(long, global = true, env = "PARLEY_LOOPBACK_ONLY", hide = true,
          action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    loopback_only: bool,
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
    /// Sign out and remove the token from the keyring.
    Logout,
    /// Print the signed-in user.
    Whoami,
    /// List the server's rooms.
    Rooms,
    /// List who is in a room.
    Peers { room: String },
    /// Stay online: print events as JSON lines; read `msg USER TEXT`, `read USER`, `quit` on stdin.
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
    /// Run the signaling server in this process until interrupted.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7890")]
        listen: SocketAddr,
        /// Server database (default: server.db in the profile directory).
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    error: &'a CoreError,
}

fn print_json(value: &impl Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

fn default_profile() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("parley").join("cli")
}

fn password(prompt: &str) -> Result<String, CoreError> {
    if let Ok(password) = std::env::var("PARLEY_PASSWORD") {
        return Ok(password);
    }
    rpassword::prompt_password(prompt).map_err(|e| {
        CoreError::Api(parley_core::account::ApiError::Protocol {
            url: String::new(),
            detail: format!("cannot read a password (set PARLEY_PASSWORD): {e}"),
        })
    })
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
    if let Err(e) = run(cli).await {
        let _ = serde_json::to_writer(std::io::stderr(), &ErrorLine { error: &e });
        eprintln!();
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), CoreError> {
    let profile = cli.profile.unwrap_or_else(default_profile);
    if let Command::Serve { listen, db } = cli.command {
        return serve(listen, db.unwrap_or_else(|| profile.join("server.db"))).await;
    }
    let keyring = match cli.keyring {
        Some(kind) => kind,
        None => StoreKind::from_env()?,
    };
    let peer = if cli.loopback_only {
        PeerConfig::loopback()
    } else {
        PeerConfig::default()
    };
    let core = Core::open(
        &profile,
        CoreOptions {
            keyring,
            peer,
            ..CoreOptions::default()
        },
    )?;
    let server = cli.server.as_deref();
    match cli.command {
        Command::Register {
            username,
            email,
            display_name,
        } => {
            let password = password("Choose a password: ")?;
            let user = core
                .register(server, &username, &email, &password, display_name.as_deref())
                .await?;
            print_json(&user);
        }
        Command::Login { login } => {
            let password = password("Password: ")?;
            print_json(&core.login(server, &login, &password).await?);
        }
        Command::Logout => {
            core.restore().await.ok();
            core.logout().await?;
        }
        Command::Whoami => print_json(&signed_in(&core).await?),
        Command::Rooms => {
            signed_in(&core).await?;
            for room in core.rooms().await? {
                print_json(&room);
            }
        }
        Command::Peers { room } => {
            signed_in(&core).await?;
            for peer in core.room_peers(&room).await? {
                print_json(&peer);
            }
        }
        Command::Online { rooms } => online(&core, rooms).await?,
        Command::History { username, limit } => {
            let contact = core.contact(&username).await?;
            let page = core.history().page(&contact.id, None, limit.clamp(1, 1000)).await?;
            for message in page.messages.iter().rev() {
                print_json(message);
            }
        }
        Command::Search { text, limit } => {
            for hit in core.history().search(&text, limit.clamp(1, 1000), None).await? {
                print_json(&hit);
            }
        }
        Command::Serve { .. } => unreachable!("handled above"),
    }
    Ok(())
}

async fn signed_in(core: &Core) -> Result<User, CoreError> {
    core.restore().await?.ok_or(CoreError::NotSignedIn)
}

async fn serve(listen: SocketAddr, db: PathBuf) -> Result<(), CoreError> {
    let config = parley_signal::Config {
        listen,
        database: parley_signal::Database::Path(db),
        ..Default::default()
    };
    let server = parley_signal::Server::bind(config).await.map_err(|e| {
        CoreError::Api(parley_core::account::ApiError::Protocol {
            url: listen.to_string(),
            detail: e.to_string(),
        })
    })?;
    println!("parley-signal listening on http://{}", server.local_addr());
    server.run_until(terminated()).await.map_err(|e| {
        CoreError::Api(parley_core::account::ApiError::Protocol {
            url: listen.to_string(),
            detail: e.to_string(),
        })
    })
}

/// Who `name` is: someone online now, else a contact from the history.
async fn resolve(core: &Core, online: &[User], name: &str) -> Result<User, CoreError> {
    match online.iter().find(|u| u.username.eq_ignore_ascii_case(name)) {
        Some(user) => Ok(user.clone()),
        None => core.contact(name).await,
    }
}

async fn online(core: &Core, rooms: Vec<String>) -> Result<(), CoreError> {
    signed_in(core).await?;
    let (events, mut event_rx) = mpsc::unbounded_channel();
    let engine = core.go_online(events).await?;
    for room in &rooms {
        engine.presence().join(room).map_err(|_| CoreError::NotOnline)?;
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let stop = terminated();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            Some(event) = event_rx.recv() => print_json(&event),
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    if !command(core, &engine, line.trim()).await {
                        break;
                    }
                }
                // Input ended (a script piped its commands): stay online until told to stop.
                _ => stdin_open = false,
            },
            _ = &mut stop => break,
        }
    }
    engine.shutdown().await;
    while let Ok(event) = event_rx.try_recv() {
        print_json(&event);
    }
    Ok(())
}

/// Runs one stdin command; false to quit.
async fn command(core: &Core, engine: &parley_core::chat::ChatEngine, line: &str) -> bool {
    let mut parts = line.splitn(3, ' ');
    let result = match (parts.next(), parts.next(), parts.next()) {
        (Some("quit"), None, None) => return false,
        (Some(""), None, None) => Ok(()),
        (Some("msg"), Some(name), Some(text)) => match resolve(core, &engine.online_users(), name).await {
            Ok(user) => engine
                .send_message(&user, text)
                .await
                .map(|_| ())
                .map_err(CoreError::from),
            Err(e) => Err(e),
        },
        (Some("read"), Some(name), None) => match resolve(core, &engine.online_users(), name).await {
            Ok(user) => engine.mark_read(&user.id).await.map(|_| ()).map_err(CoreError::from),
            Err(e) => Err(e),
        },
        _ => {
            print_json(&CoreEvent::Error {
                code: "bad_command".into(),
                message: "commands: msg USER TEXT | read USER | quit".into(),
            });
            Ok(())
        }
    };
    if let Err(e) = result {
        print_json(&CoreEvent::Error {
            code: e.code(),
            message: e.to_string(),
        });
    }
    true
}
