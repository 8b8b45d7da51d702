//! Files between two real cores through a real signaling server, peer to peer: every size
//! arrives verified, transfers resume after either side restarts, a file to someone offline is
//! delivered exactly once, a changed source is refused, large files wait for a decision, and a
//! full disk pauses without losing what arrived.

use std::io::Write;
use std::path::{Path, PathBuf};

use parley_core::{CoreEvent, CrashPoint, FileSettings, Message, TransferState};
use parley_tests::{online_pair, wait_until, Person, TestServer};

const MIB: u64 = 1024 * 1024;

/// A file of `len` pseudo-random bytes (incompressible, different per `seed`).
fn random_file(dir: &Path, name: &str, len: u64, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
    let mut x = seed | 1;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
    path
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut a, mut b) = (std::fs::File::open(a).unwrap(), std::fs::File::open(b).unwrap());
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        let mut filled = 0;
        while filled < n {
            let m = b.read(&mut y[filled..n]).unwrap();
            if m == 0 {
                return false;
            }
            filled += m;
        }
        if x[..n] != y[..n] {
            return false;
        }
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
    }
}

/// Waits until `person` sees file message `id` in `state`; returns it.
pub(crate) async fn wait_file(person: &mut Person, id: &str, state: TransferState) -> Message {
    person
        .wait_for(&format!("file {id} to be {}", state.as_str()), |e| match e {
            CoreEvent::Message { message } | CoreEvent::MessageChanged { message }
                if message.id == id && message.file.as_ref().is_some_and(|f| f.state == state) =>
            {
                Some(message.clone())
            }
            _ => None,
        })
        .await
}

/// Waits for progress on `id` of at least `bytes`; returns where that run resumed from.
async fn wait_progress(person: &mut Person, id: &str, bytes: u64) -> Option<u64> {
    person
        .wait_for(&format!("{bytes} bytes of {id}"), |e| match e {
            CoreEvent::TransferProgress {
                id: i,
                bytes_done,
                resumed_from,
                ..
            } if i == id && *bytes_done >= bytes => Some(*resumed_from),
            _ => None,
        })
        .await
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Sends `path` from `from` to `to` and waits until both sides say complete; returns the
/// receiver's message.
async fn send_and_receive(from: &mut Person, to: &mut Person, path: &Path) -> Message {
    let sent = from.parley().send_file(to.id(), path).await.expect("send_file");
    let received = wait_file(to, &sent.id, TransferState::Complete).await;
    wait_file(from, &sent.id, TransferState::Complete).await;
    let saved = PathBuf::from(received.file.as_ref().unwrap().path.as_ref().expect("saved path"));
    assert!(
        saved.starts_with(to.downloads()),
        "{saved:?} is outside the download folder"
    );
    assert!(same_bytes(path, &saved), "{saved:?} differs from what was sent");
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_small_1_gib_and_image_files_arrive_verified_and_are_searchable() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let dir = tempfile::tempdir().unwrap();

    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let got = send_and_receive(&mut alice, &mut bob, &empty).await;
    assert_eq!(got.file.as_ref().unwrap().size, 0);
    assert_eq!(got.body, "empty.txt");

    let notes = dir.path().join("meeting notes.txt");
    std::fs::write(&notes, "agenda: files\n".repeat(1000)).unwrap();
    let got = send_and_receive(&mut bob, &mut alice, &notes).await;
    assert_eq!(got.file.as_ref().unwrap().mime, "text/plain");

    // The same name again is saved beside the first, never over it.
    send_and_receive(&mut bob, &mut alice, &notes).await;
    assert_eq!(
        files_in(alice.downloads()),
        ["meeting notes (1).txt", "meeting notes.txt"]
    );

    // 1 GiB (and a little), streamed: neither side holds it in memory. Over the default
    // auto-accept size, so Bob takes anything from now on.
    bob.set_file_settings(FileSettings {
        auto_accept_bytes: u64::MAX,
        ..bob.file_settings()
    });
    let big = random_file(dir.path(), "big.bin", 1024 * MIB + 12_345, 7);
    let sent = alice.parley().send_file(bob.id(), &big).await.expect("send_file");
    let minutes = std::time::Duration::from_secs(300);
    let got = bob
        .wait_for_within(minutes, "the 1 GiB file", |e| match e {
            CoreEvent::MessageChanged { message }
                if message.id == sent.id
                    && message
                        .file
                        .as_ref()
                        .is_some_and(|f| f.state == TransferState::Complete) =>
            {
                Some(message.clone())
            }
            _ => None,
        })
        .await;
    assert!(same_bytes(&big, Path::new(got.file.unwrap().path.as_ref().unwrap())));
    std::fs::remove_file(&big).unwrap();

    // A picture: its preview (made by the sender, checked and re-encoded by the receiver)
    // comes with the offer, before any byte of the file.
    let photo = dir.path().join("harbour.png");
    image::RgbImage::from_fn(1600, 1200, |x, y| image::Rgb([(x / 7) as u8, (y / 5) as u8, 90]))
        .save(&photo)
        .unwrap();
    let sent = alice.parley().send_file(bob.id(), &photo).await.unwrap();
    let offered = bob
        .wait_for("the picture's offer", |e| match e {
            CoreEvent::Message { message } if message.id == sent.id => Some(message.clone()),
            _ => None,
        })
        .await;
    let file = offered.file.unwrap();
    assert_eq!(
        (file.width, file.height, file.mime.as_str()),
        (Some(1600), Some(1200), "image/png")
    );
    assert_ne!(file.state, TransferState::Complete);
    let thumb = file.thumbnail.expect("a preview with the offer");
    use base64::Engine as _;
    let jpeg = base64::engine::general_purpose::STANDARD.decode(thumb).unwrap();
    let preview = image::load_from_memory(&jpeg).unwrap();
    assert!(preview.width() <= 400 && preview.height() <= 400 && preview.width() >= 300);
    wait_file(&mut bob, &sent.id, TransferState::Complete).await;
    let (shown, mime) = bob.parley().picture(&sent.id).await.unwrap();
    assert_eq!(mime, "image/jpeg");
    assert_eq!(image::load_from_memory(&shown).unwrap().width(), 1600);

    // Found by name, offline too, with the file's details.
    for person in [&alice, &bob] {
        let hits = person.parley().search("meeting", None, None, Some(10)).await.unwrap();
        assert_eq!(hits.len(), 2, "{} finds both notes", person.name);
        assert!(hits.iter().all(|h| h.message.file.is_some()));
    }
    bob.quit().await;
    bob.reopen_offline().await;
    let page = bob.parley().history_page(alice.id(), None, Some(10)).await.unwrap();
    let file = page
        .messages
        .iter()
        .find(|m| m.body == "harbour.png")
        .and_then(|m| m.file.clone())
        .expect("the picture in the history");
    assert_eq!((file.state, file.missing), (TransferState::Complete, false));

    // A received file moved away shows as missing; the view still works.
    std::fs::remove_file(file.path.as_ref().unwrap()).unwrap();
    let page = bob.parley().history_page(alice.id(), None, Some(10)).await.unwrap();
    let moved = page.messages.iter().find(|m| m.body == "harbour.png").unwrap();
    assert!(moved.file.as_ref().unwrap().missing);
    let open = bob.parley().file_path(&moved.id).await;
    assert_eq!(open.unwrap_err().code(), "file_missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_resume_after_the_receiver_or_the_sender_restarts() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let path = random_file(dir.path(), "video.bin", 96 * MIB, 11);

    // The receiver quits after the first durable part; the rest comes after its restart.
    let sent = alice.parley().send_file(bob.id(), &path).await.unwrap();
    wait_progress(&mut bob, &sent.id, 16 * MIB).await;
    bob.quit().await;
    wait_file(&mut alice, &sent.id, TransferState::Waiting).await;
    alice.mark();
    bob.restart().await;
    bob.go_online("lobby").await;
    let resumed = wait_progress(&mut bob, &sent.id, 0).await;
    assert!(resumed.is_some_and(|r| r >= 16 * MIB), "resumed from {resumed:?}");
    let got = wait_file(&mut bob, &sent.id, TransferState::Complete).await;
    wait_file(&mut alice, &sent.id, TransferState::Complete).await;
    assert!(same_bytes(&path, Path::new(got.file.unwrap().path.as_ref().unwrap())));

    // The sender quits mid-way; the receiver picks up where it was once the sender is back.
    let path = random_file(dir.path(), "backup.bin", 96 * MIB, 12);
    bob.mark();
    let sent = alice.parley().send_file(bob.id(), &path).await.unwrap();
    wait_progress(&mut bob, &sent.id, 16 * MIB).await;
    alice.quit().await;
    wait_file(&mut bob, &sent.id, TransferState::Waiting).await;
    bob.mark();
    alice.restart().await;
    alice.go_online("lobby").await;
    let resumed = wait_progress(&mut bob, &sent.id, 0).await;
    assert!(resumed.is_some_and(|r| r >= 16 * MIB), "resumed from {resumed:?}");
    let got = wait_file(&mut bob, &sent.id, TransferState::Complete).await;
    assert!(same_bytes(&path, Path::new(got.file.unwrap().path.as_ref().unwrap())));
    assert_eq!(files_in(bob.downloads()), ["backup.bin", "video.bin"]);
}

/// A receiver killed while putting a verified file in place (after reserving its name, or
/// after moving it there but before recording it complete) finishes on restart with the one
/// file under its own name, not received again as "name (1)", and the sender hears complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_killed_while_putting_a_file_in_place_finishes_it_once() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (CrashPoint::BeforeMove, "notes.bin", 0),
        (CrashPoint::AfterMove, "photo.bin", 4 * MIB),
    ];
    for (seed, (point, name, placed_len)) in cases.into_iter().enumerate() {
        let path = random_file(dir.path(), name, 4 * MIB, 21 + seed as u64);
        bob.parley().crash_transfers_at(Some(point));
        let sent = alice.parley().send_file(bob.id(), &path).await.unwrap();
        let placed = bob.downloads().join(name);
        wait_until(&format!("{name} is {placed_len} bytes in the download folder"), || {
            let len = placed.metadata().map(|m| m.len()).ok();
            async move { len == Some(placed_len) }
        })
        .await;
        bob.quit().await;

        alice.mark();
        bob.mark();
        bob.restart().await;
        let got = wait_file(&mut bob, &sent.id, TransferState::Complete).await;
        wait_file(&mut alice, &sent.id, TransferState::Complete).await;
        assert_eq!(got.file.unwrap().path.map(PathBuf::from), Some(placed.clone()));
        assert!(
            same_bytes(&path, &placed),
            "{point:?}: {placed:?} differs from what was sent"
        );
        let fetched_again = bob
            .since_mark()
            .iter()
            .filter(|e| matches!(e, CoreEvent::TransferProgress { id, bytes_done, .. } if *id == sent.id && *bytes_done < 4 * MIB))
            .count();
        assert_eq!(fetched_again, 0, "{point:?}: the file was received a second time");
    }
    assert_eq!(files_in(bob.downloads()), ["notes.bin", "photo.bin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_to_someone_offline_arrives_once_and_a_changed_one_is_refused() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let dir = tempfile::tempdir().unwrap();
    bob.quit().await;

    let photo = random_file(dir.path(), "photo.raw", 3 * MIB, 3);
    let kept = alice.parley().send_file(bob.id(), &photo).await.unwrap();
    let draft = dir.path().join("draft.txt");
    std::fs::write(&draft, "first version").unwrap();
    let changed = alice.parley().send_file(bob.id(), &draft).await.unwrap();
    // Edited after it was sent, before Bob could fetch it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&draft, "second version, longer").unwrap();

    bob.restart().await;
    bob.go_online("lobby").await;
    wait_file(&mut bob, &kept.id, TransferState::Complete).await;
    let refused = wait_file(&mut bob, &changed.id, TransferState::Failed).await;
    assert_eq!(refused.file.unwrap().error.as_deref(), Some("source_changed"));
    let told = wait_file(&mut alice, &changed.id, TransferState::Failed).await;
    assert_eq!(told.file.unwrap().error.as_deref(), Some("source_changed"));
    assert_eq!(files_in(bob.downloads()), ["photo.raw"]);

    // Restarts and reconnections deliver nothing twice.
    alice.restart().await;
    bob.restart().await;
    let history = bob.parley().history_page(alice.id(), None, Some(50)).await.unwrap();
    assert_eq!(history.messages.iter().filter(|m| m.id == kept.id).count(), 1);
    assert_eq!(files_in(bob.downloads()), ["photo.raw"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_wait_for_accept_or_decline_and_either_side_can_cancel() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    bob.set_file_settings(FileSettings {
        auto_accept_bytes: MIB,
        ..bob.file_settings()
    });
    let dir = tempfile::tempdir().unwrap();
    let small = random_file(dir.path(), "small.bin", 1000, 1);
    let big = random_file(dir.path(), "big.bin", 2 * MIB, 2);
    let other = random_file(dir.path(), "other.bin", 2 * MIB, 3);

    send_and_receive(&mut alice, &mut bob, &small).await;
    let offered = alice.parley().send_file(bob.id(), &big).await.unwrap();
    wait_file(&mut bob, &offered.id, TransferState::AwaitingAccept).await;
    wait_file(&mut alice, &offered.id, TransferState::AwaitingAccept).await;
    bob.parley().accept_file(alice.id(), &offered.id).await.unwrap();
    wait_file(&mut bob, &offered.id, TransferState::Complete).await;
    wait_file(&mut alice, &offered.id, TransferState::Complete).await;

    let declined = alice.parley().send_file(bob.id(), &other).await.unwrap();
    wait_file(&mut bob, &declined.id, TransferState::AwaitingAccept).await;
    bob.parley().decline_file(alice.id(), &declined.id).await.unwrap();
    wait_file(&mut alice, &declined.id, TransferState::Declined).await;
    let again = bob.parley().accept_file(alice.id(), &declined.id).await;
    assert_eq!(again.unwrap_err().code(), "transfer_finished");

    // The sender cancels one still waiting for a decision.
    let cancelled = alice.parley().send_file(bob.id(), &other).await.unwrap();
    wait_file(&mut bob, &cancelled.id, TransferState::AwaitingAccept).await;
    alice.parley().cancel_file(bob.id(), &cancelled.id).await.unwrap();
    wait_file(&mut bob, &cancelled.id, TransferState::Cancelled).await;

    // The receiver cancels one that is moving.
    bob.set_file_settings(FileSettings {
        auto_accept_bytes: u64::MAX,
        ..bob.file_settings()
    });
    let moving = random_file(dir.path(), "moving.bin", 200 * MIB, 4);
    let sent = alice.parley().send_file(bob.id(), &moving).await.unwrap();
    wait_progress(&mut bob, &sent.id, 16 * MIB).await;
    bob.parley().cancel_file(alice.id(), &sent.id).await.unwrap();
    wait_file(&mut alice, &sent.id, TransferState::Cancelled).await;
    assert_eq!(files_in(bob.downloads()), ["big.bin", "small.bin"]);
    let parts = bob.profile_dir().join("transfers");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        files_in(&parts).is_empty(),
        "partial files left: {:?}",
        files_in(&parts)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_transfer_and_resume_finishes_it() {
    let server = TestServer::start().await;
    let (alice, mut bob) = online_pair(&server).await;
    let dir = tempfile::tempdir().unwrap();
    // Partial files live in the profile: a 24 MiB filesystem there fills up half-way.
    let parts = bob.profile_dir().join("transfers");
    std::fs::create_dir_all(&parts).unwrap();
    let mount = Mount::tmpfs(&parts, 24 * MIB);
    let path = random_file(dir.path(), "archive.bin", 40 * MIB, 5);
    let sent = alice.parley().send_file(bob.id(), &path).await.unwrap();
    let paused = wait_file(&mut bob, &sent.id, TransferState::Paused).await;
    assert_eq!(paused.file.unwrap().error.as_deref(), Some("disk_full"));
    bob.wait_for("the disk-full error", |e| match e {
        CoreEvent::Error { code, message } if code == "disk_full" => Some(message.clone()),
        _ => None,
    })
    .await;
    let kept = std::fs::metadata(parts.join(format!("{}.part", sent.id)))
        .unwrap()
        .len();
    assert!(kept >= 16 * MIB, "kept {kept} bytes");

    mount.resize(64 * MIB);
    bob.mark();
    bob.parley().resume_file(alice.id(), &sent.id).await.unwrap();
    let resumed = wait_progress(&mut bob, &sent.id, 0).await;
    // From the last flush before the disk filled (flushes come every 16 MiB or every second).
    assert!(
        resumed.is_some_and(|r| r > 0 && r <= kept),
        "resumed from {resumed:?} with {kept} bytes kept"
    );
    let got = wait_file(&mut bob, &sent.id, TransferState::Complete).await;
    assert!(same_bytes(&path, Path::new(got.file.unwrap().path.as_ref().unwrap())));
    drop(mount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_download_folder_says_so_at_once() {
    let server = TestServer::start().await;
    let (alice, mut bob) = online_pair(&server).await;
    let gone = bob.downloads().join("unplugged");
    let refused = bob.parley().set_file_settings(FileSettings {
        downloads: Some(gone.clone()),
        ..FileSettings::default()
    });
    assert_eq!(refused.unwrap_err().code(), "folder_missing");
    // The folder disappears after it was chosen: the transfer pauses with the reason.
    std::fs::create_dir_all(&gone).unwrap();
    bob.set_file_settings(FileSettings {
        downloads: Some(gone.clone()),
        ..FileSettings::default()
    });
    std::fs::remove_dir(&gone).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = random_file(dir.path(), "a.bin", 1000, 9);
    let sent = alice.parley().send_file(bob.id(), &path).await.unwrap();
    let paused = wait_file(&mut bob, &sent.id, TransferState::Paused).await;
    assert_eq!(paused.file.unwrap().error.as_deref(), Some("downloads_unavailable"));
    std::fs::create_dir_all(&gone).unwrap();
    bob.parley().resume_file(alice.id(), &sent.id).await.unwrap();
    wait_file(&mut bob, &sent.id, TransferState::Complete).await;
    assert_eq!(files_in(&gone), ["a.bin"]);
}

/// A tmpfs mounted for the length of a test (the test command runs as root, like CI).
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: u64) -> Mount {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (the test command runs as root)"
        );
        Mount(at.to_owned())
    }

    fn resize(&self, size: u64) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("mount runs");
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
