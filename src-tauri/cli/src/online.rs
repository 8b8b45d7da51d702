//! `parley-cli online`: stay online in some rooms, print every event as a JSON line, and take
//! commands on stdin (see [`USAGE`]).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use parley_core::{CoreError, CoreEvent, Message, Parley, TransferState};
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{print_json, terminated, Failure};

pub(crate) async fn run(
    parley: &Parley,
    mut events: UnboundedReceiver<CoreEvent>,
    rooms: &[String],
) -> Result<(), Failure> {
    for room in rooms {
        parley.join_room(room)?;
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let stop = terminated();
    tokio::pin!(stop);
    let mut transfers = TransferLines::default();
    loop {
        tokio::select! {
            Some(event) = events.recv() => {
                print_json(&event);
                transfers.print(&event);
            }
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    if !command(parley, line.trim()).await {
                        break;
                    }
                }
                // Input ended (a script piped its commands): stay online until told to stop.
                _ => stdin_open = false,
            },
            _ = &mut stop => break,
        }
    }
    parley.shutdown().await;
    while let Ok(event) = events.try_recv() {
        print_json(&event);
        transfers.print(&event);
    }
    Ok(())
}

/// The file-transfer lines (`type`: offered, progress, complete, failure) derived from the
/// core's events, for scripts that only care about files.
#[derive(Default)]
struct TransferLines {
    last_progress: HashMap<String, Instant>,
    /// Transfers already reported finished (a message can change again, say by a reaction).
    finished: std::collections::HashSet<String>,
}

impl TransferLines {
    fn print(&mut self, event: &CoreEvent) {
        match event {
            CoreEvent::Message { message } => {
                if let Some(file) = &message.file {
                    print_json(&json!({
                        "type": "offered",
                        "id": message.id,
                        "conversation_id": message.conversation_id,
                        "direction": message.direction,
                        "name": file.name,
                        "size": file.size,
                        "sha256": file.sha256,
                        "state": file.state,
                    }));
                    self.finish(message);
                }
            }
            CoreEvent::TransferProgress {
                id,
                bytes_done,
                size,
                bytes_per_sec,
                resumed_from,
                ..
            } => {
                let due = self
                    .last_progress
                    .get(id)
                    .is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
                if due || bytes_done == size {
                    self.last_progress.insert(id.clone(), Instant::now());
                    print_json(&json!({
                        "type": "progress",
                        "id": id,
                        "bytes_done": bytes_done,
                        "size": size,
                        "bytes_per_sec": bytes_per_sec,
                        "resumed_from": resumed_from,
                    }));
                }
            }
            CoreEvent::MessageChanged { message } => self.finish(message),
            _ => {}
        }
    }

    fn finish(&mut self, message: &Message) {
        let Some(file) = &message.file else { return };
        if !file.state.is_final() || !self.finished.insert(message.id.clone()) {
            return;
        }
        self.last_progress.remove(&message.id);
        if file.state == TransferState::Complete {
            print_json(&json!({
                "type": "complete",
                "id": message.id,
                "direction": message.direction,
                "name": file.name,
                "size": file.size,
                "path": file.path,
                "sha256": file.sha256,
            }));
        } else {
            let code = file.error.clone().unwrap_or_else(|| file.state.as_str().to_owned());
            print_json(&json!({
                "type": "failure",
                "id": message.id,
                "direction": message.direction,
                "name": file.name,
                "state": file.state,
                "code": code,
            }));
        }
    }
}

const USAGE: &str = "commands: msg USER TEXT | reply USER MESSAGE_ID TEXT | edit USER MESSAGE_ID TEXT | \
                     delete USER MESSAGE_ID (for everyone) | hide USER MESSAGE_ID (for me) | \
                     react USER MESSAGE_ID EMOJI (- removes) | read USER | file USER PATH | \
                     accept|decline|cancel|resume USER FILE_ID | quit";

/// Runs one stdin command; false to quit. A failure is printed as an `error` event and the
/// session goes on.
async fn command(parley: &Parley, line: &str) -> bool {
    let mut words = line.splitn(2, ' ');
    let (verb, rest) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    // USER, then MESSAGE_ID for the verbs about a message, then the rest of the line.
    let takes_id = matches!(
        verb,
        "reply" | "edit" | "delete" | "hide" | "react" | "accept" | "decline" | "cancel" | "resume"
    );
    let mut parts = rest.splitn(if takes_id { 3 } else { 2 }, ' ');
    let name = parts.next().filter(|n| !n.is_empty());
    let id = if takes_id { parts.next() } else { None };
    let text = parts.next();
    let user = match name {
        Some(name) => match parley.find_contact(name).await {
            Ok(user) => Some(user.id),
            Err(e) => {
                report(&e);
                return true;
            }
        },
        None => None,
    };
    let result = match (verb, user.as_deref(), id, text) {
        ("quit", None, None, None) => return false,
        ("", None, None, None) => Ok(()),
        ("msg", Some(user), None, Some(text)) => parley.send_message(user, text, None).await.map(drop),
        ("reply", Some(user), Some(id), Some(text)) => parley.send_message(user, text, Some(id)).await.map(drop),
        ("edit", Some(user), Some(id), Some(text)) => parley.edit_message(user, id, text).await.map(drop),
        ("delete", Some(user), Some(id), None) => parley.delete_message(user, id, true).await,
        ("hide", Some(user), Some(id), None) => parley.delete_message(user, id, false).await,
        ("react", Some(user), Some(id), Some(emoji)) => {
            let emoji = (emoji != "-").then_some(emoji);
            parley.react(user, id, emoji).await.map(drop)
        }
        ("read", Some(user), None, None) => parley.mark_read(user).await.map(drop),
        ("file", Some(user), None, Some(path)) => parley.send_file(user, Path::new(path)).await.map(drop),
        ("accept", Some(user), Some(id), None) => parley.accept_file(user, id).await.map(drop),
        ("decline", Some(user), Some(id), None) => parley.decline_file(user, id).await.map(drop),
        ("cancel", Some(user), Some(id), None) => parley.cancel_file(user, id).await.map(drop),
        ("resume", Some(user), Some(id), None) => parley.resume_file(user, id).await.map(drop),
        _ => {
            print_json(&CoreEvent::Error {
                code: "bad_command".into(),
                message: USAGE.into(),
            });
            Ok(())
        }
    };
    if let Err(e) = result {
        report(&e);
    }
    true
}

fn report(e: &CoreError) {
    print_json(&CoreEvent::Error {
        code: e.code(),
        message: e.to_string(),
    });
}
