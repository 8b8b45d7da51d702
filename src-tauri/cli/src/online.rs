//! `parley-cli online`: stay online in some rooms, print every event as a JSON line, and take
//! `msg USER TEXT`, `read USER` and `quit` on stdin.

use parley_core::{CoreError, CoreEvent, Parley};
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
    loop {
        tokio::select! {
            Some(event) = events.recv() => print_json(&event),
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
    }
    Ok(())
}

/// Runs one stdin command; false to quit. A failure is printed as an `error` event and the
/// session goes on.
async fn command(parley: &Parley, line: &str) -> bool {
    let mut parts = line.splitn(3, ' ');
    let result = match (parts.next(), parts.next(), parts.next()) {
        (Some("quit"), None, None) => return false,
        (Some(""), None, None) => Ok(()),
        (Some("msg"), Some(name), Some(text)) => match parley.find_contact(name).await {
            Ok(user) => parley.send_message(&user.id, text, None).await.map(drop),
            Err(e) => Err(e),
        },
        (Some("read"), Some(name), None) => match parley.find_contact(name).await {
            Ok(user) => parley.mark_read(&user.id).await.map(drop),
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
