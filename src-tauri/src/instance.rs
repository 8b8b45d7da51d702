//! One instance per profile. The profile's lock (in the core) decides who owns it; the owner
//! listens on a loopback port written into the profile directory, and a second launch of the
//! same profile asks it to bring its window forward instead of starting twice.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

const PORT_FILE: &str = "instance.port";
const SHOW: &str = "show";

fn port_file(profile_dir: &Path) -> PathBuf {
    profile_dir.join(PORT_FILE)
}

/// Listens for later launches of this profile; `on_show` runs for each. Call only while holding
/// the profile.
pub fn listen(profile_dir: &Path, on_show: impl Fn() + Send + 'static) -> std::io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    std::fs::write(port_file(profile_dir), listener.local_addr()?.port().to_string())?;
    std::thread::Builder::new().name("instance".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_ok() && line.trim() == SHOW {
                on_show();
            }
        }
    })?;
    Ok(())
}

/// Asks the running instance of the profile to show its window. False when none answers.
pub fn show_running(profile_dir: &Path) -> bool {
    let Ok(port) = std::fs::read_to_string(port_file(profile_dir)) else {
        return false;
    };
    let Ok(port) = port.trim().parse::<u16>() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(2)) else {
        return false;
    };
    writeln!(stream, "{SHOW}").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_second_launch_reaches_the_first() {
        let dir = std::env::temp_dir().join(format!("parley-instance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!show_running(&dir), "nothing runs yet");
        let (tx, rx) = mpsc::channel();
        listen(&dir, move || tx.send(()).unwrap()).unwrap();
        assert!(show_running(&dir));
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the first instance was asked to show");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
