//! Files and images between two people (`docs/file-protocol.md`). [`Transfers`] owns every
//! transfer of a profile: it decides what to accept, runs the receiving side (which drives:
//! when to fetch, from which offset, how many at once) and answers the sender's requests, and
//! records every step in the history so a restart on either side resumes.
//!
//! The offer itself travels as a chat message and state changes as chat actions, so they share
//! the chat outbox's guarantees; only the bytes use channels of their own (`send.rs`,
//! `receive.rs`).

mod mime;
mod offer;
mod picture;
mod receive;
pub(crate) mod safe_name;
mod send;
mod wire;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc::UnboundedSender, watch};
use tracing::{debug, info, warn, Instrument};

use crate::events::CoreEvent;
use parley_history::{Direction, History, HistoryError, Message, NewFile, TransferRecord, TransferState};
use parley_peer::{PeerId, PeerManager};
use parley_protocol::User;

pub(crate) use offer::FileOffer;
pub(crate) use picture::PictureError;
pub use safe_name::FolderError;

/// Transfers from one person received at the same time; the rest wait their turn.
const MAX_RECEIVING_PER_PEER: usize = 2;
/// Requests one person may have running against us at once (a well-behaved receiver asks for
/// [`MAX_RECEIVING_PER_PEER`]); more are answered `busy`.
const MAX_SENDING_PER_PEER: usize = 4;
/// Unfinished incoming transfers kept from one person; more offers are declined (`too_many`).
const MAX_UNFINISHED_PER_PEER: usize = 256;
/// How soon a transfer the sender was too busy for is asked for again.
const BUSY_RETRY: Duration = Duration::from_secs(2);
/// How long a request for a transfer still sending here waits for that stale run to end.
const SUPERSEDE_WAIT: Duration = Duration::from_secs(5);

/// Where received files go and which are taken without asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileSettings {
    /// The download folder; None for the OS download folder's `Parley` subfolder (created when
    /// needed — a folder the person chose is never created, so an unplugged disk is noticed).
    pub downloads: Option<PathBuf>,
    /// Files up to this size from people we chat with are received without asking; larger ones
    /// wait for Accept or Decline.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub auto_accept_bytes: u64,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            downloads: None,
            auto_accept_bytes: 100 * 1024 * 1024,
        }
    }
}

impl FileSettings {
    /// The folder received files go to.
    pub fn download_folder(&self) -> PathBuf {
        self.downloads.clone().unwrap_or_else(default_download_folder)
    }
}

/// The OS download folder's `Parley` subfolder (`~/Downloads/Parley` when the OS names none).
pub fn default_download_folder() -> PathBuf {
    dirs::download_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join("Downloads")))
        .unwrap_or_else(std::env::temp_dir)
        .join("Parley")
}

/// Why a file action failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file to send cannot be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A folder or something else that is not a regular file.
    #[error("{0} is not a file: choose a file (folders are not sent)")]
    NotAFile(String),
    /// Over 8 PiB (what a JavaScript number counts exactly).
    #[error("the file is too large to send")]
    TooLarge,
    /// Written to while it was being read for sending.
    #[error("{0} changed while it was being prepared: try again once it is saved")]
    ChangedWhileReading(String),
    /// No such transfer here.
    #[error("that file is not in this conversation")]
    UnknownTransfer,
    /// The transfer is not in a state where this makes sense (accepting a finished one).
    #[error("{0}")]
    NotNow(&'static str),
    /// The file is not where it was (moved or deleted since).
    #[error("{0} is not there any more: it was moved or deleted")]
    Missing(String),
    /// The download folder cannot take files.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// The history failed.
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// What [`Transfers`] asks of the chat engine, which owns the connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileNotice {
    /// A state frame was queued for this user: flush their outbox.
    Flush(String),
    /// A slot freed up or a transfer became ready: run what waits from this user.
    Schedule(String),
}

/// A point where a receiving run stops as if the app had been killed there (tests only: what
/// a restart finds must be recoverable at each step of putting a file in place).
#[cfg(feature = "test-utils")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// The name in the download folder is reserved and recorded; the file is not moved yet.
    BeforeMove,
    /// The file is in the download folder; `complete` is not recorded.
    AfterMove,
}

/// How a running transfer is being stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The person here cancelled: tell the other side on the channel.
    Cancelled,
    /// The other side cancelled (their `file-state` arrived): just stop.
    CancelledThere,
    /// Signing out or shutting down: stop, keep the state for a resume.
    Shutdown,
    /// The receiver asked for the same transfer again: this run is stale.
    Superseded,
}

struct Running {
    user_id: String,
    direction: Direction,
    stop: watch::Sender<Option<Stop>>,
}

/// How a transfer's run ended; [`Inner::finish`] turns it into a state.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Receiver: verified and saved here.
    Saved(PathBuf),
    /// Sender: every byte acknowledged; `complete` comes as a state frame after verification.
    AllAcknowledged,
    /// The channel or connection went away: back to waiting, resumed on the next connection.
    Interrupted(String),
    /// The sender was busy, or broke the protocol: ask again, but not at once (a peer that
    /// keeps sending garbage must not make us spin).
    RetryLater(String),
    /// Receiver: stopped until the person acts (full disk, download folder).
    Paused(&'static str),
    /// For good, with this code (told to the other side when `tell`).
    Failed { code: String, tell: bool },
    /// Cancelled, here or there (whoever cancelled set the state).
    Cancelled,
    /// Signing out: leave the state as it was for the next run.
    Stopped,
}

/// Every transfer of one profile. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Transfers {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    history: History,
    events: UnboundedSender<CoreEvent>,
    settings: Mutex<FileSettings>,
    /// Partial downloads (`<id>.part`), inside the profile.
    parts: PathBuf,
    running: Mutex<HashMap<String, Running>>,
    /// The running chat engine's notice queue and event stream (events go the engine's way
    /// while it runs, so they stay in order with its own); None while signed out.
    hook: Mutex<Option<(UnboundedSender<FileNotice>, UnboundedSender<CoreEvent>)>>,
    #[cfg(feature = "test-utils")]
    crash: Mutex<Option<CrashPoint>>,
}

impl Transfers {
    pub(crate) fn new(history: History, events: UnboundedSender<CoreEvent>, profile: &Path) -> Transfers {
        Transfers {
            inner: Arc::new(Inner {
                history,
                events,
                settings: Mutex::new(FileSettings::default()),
                parts: profile.join("transfers"),
                running: Mutex::new(HashMap::new()),
                hook: Mutex::new(None),
                #[cfg(feature = "test-utils")]
                crash: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn settings(&self) -> FileSettings {
        self.inner.settings.lock().clone()
    }

    pub(crate) fn set_settings(&self, settings: FileSettings) {
        *self.inner.settings.lock() = settings;
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn crash_at(&self, point: Option<CrashPoint>) {
        *self.inner.crash.lock() = point;
    }

    /// A chat engine started: notices go to it. Transfers left running by a previous process
    /// are waiting again.
    pub(crate) async fn attach(&self, notices: UnboundedSender<FileNotice>, events: UnboundedSender<CoreEvent>) {
        *self.inner.hook.lock() = Some((notices, events));
        if self.inner.running.lock().is_empty() {
            match self.inner.history.reset_running_transfers().await {
                Ok(0) => {}
                Ok(n) => info!(n, "transfers interrupted earlier are waiting to resume"),
                Err(e) => warn!(error = %e, "could not reset interrupted transfers"),
            }
        }
    }

    /// The session ended: every running transfer stops where it is, to resume later.
    pub(crate) fn detach(&self) {
        *self.inner.hook.lock() = None;
        for running in self.inner.running.lock().values() {
            let _ = running.stop.send(Some(Stop::Shutdown));
        }
    }

    /// Reads a file to offer it (hash, type, thumbnail): seconds for a large file.
    pub(crate) async fn describe(&self, path: &Path) -> Result<NewFile, FileError> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        tokio::task::spawn_blocking(move || offer::describe(&path))
            .await
            .unwrap_or_else(|e| {
                Err(FileError::Unreadable {
                    path: String::new(),
                    reason: e.to_string(),
                })
            })
    }

    /// What to store for an offer from `user`: None when refused (too many unfinished ones).
    pub(crate) async fn admit(&self, user_id: &str, offer: &FileOffer) -> Option<NewFile> {
        match self.inner.history.count_unfinished_incoming(user_id).await {
            Ok(n) if n >= MAX_UNFINISHED_PER_PEER => {
                warn!(
                    user = user_id,
                    n, "too many unfinished files from this person: offer declined"
                );
                return None;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "could not count unfinished transfers"),
        }
        let state = if offer.size <= self.settings().auto_accept_bytes {
            TransferState::Waiting
        } else {
            TransferState::AwaitingAccept
        };
        Some(offer.receive(state).await)
    }

    /// An offer we refused: tell the sender, so their side does not wait forever.
    pub(crate) async fn refused(&self, user_id: &str, target: &str) {
        self.inner
            .tell(user_id, target, TransferState::Declined, Some("too_many"))
            .await;
    }

    /// An offer was stored: ask the person or start fetching.
    pub(crate) async fn offered(&self, message: &Message) {
        let Some(file) = &message.file else { return };
        if file.state == TransferState::AwaitingAccept {
            self.inner
                .tell(
                    &message.conversation_id,
                    &message.id,
                    TransferState::AwaitingAccept,
                    None,
                )
                .await;
        } else {
            self.inner.notice(FileNotice::Schedule(message.conversation_id.clone()));
        }
    }

    /// A `file-state` frame from `user` about transfer `target`. Returns the changed message.
    pub(crate) async fn on_state(
        &self,
        user: &User,
        target: &str,
        state: TransferState,
        code: Option<&str>,
    ) -> Option<Message> {
        self.inner.on_remote_state(user, target, state, code).await
    }

    /// Fetches what waits from `user_id` on the open connection to `peer`, up to the limit.
    pub(crate) async fn schedule(&self, user_id: &str, manager: &PeerManager, peer: &PeerId) {
        Inner::schedule(&self.inner, user_id, manager, peer).await;
    }

    /// The receiver asks for `target` from `offset` on the channel it opened as `channel`.
    pub(crate) fn serve(
        &self,
        user: User,
        manager: PeerManager,
        peer: PeerId,
        target: String,
        offset: u64,
        channel: u16,
    ) {
        let inner = self.inner.clone();
        let span = tracing::info_span!("transfer", role = "send", id = %target, peer = %peer, user = %user.username);
        let request = send::Request {
            user,
            manager,
            peer,
            target,
            offset,
            channel,
        };
        tokio::spawn(async move { send::serve(inner, request).await }.instrument(span));
    }

    /// The person accepts a file that waits for their decision.
    pub(crate) async fn accept(&self, conversation_id: &str, id: &str) -> Result<Message, FileError> {
        let message = self
            .decide(
                conversation_id,
                id,
                &[TransferState::AwaitingAccept],
                TransferState::Waiting,
            )
            .await?
            .ok_or(FileError::NotNow("that file is not waiting for you to accept it"))?;
        self.inner.notice(FileNotice::Schedule(conversation_id.to_owned()));
        Ok(message)
    }

    /// The person declines a file offered to them.
    pub(crate) async fn decline(&self, conversation_id: &str, id: &str) -> Result<Message, FileError> {
        let waiting = [TransferState::AwaitingAccept, TransferState::Waiting];
        let message = self
            .decide(conversation_id, id, &waiting, TransferState::Declined)
            .await?
            .ok_or(FileError::NotNow("that file can no longer be declined"))?;
        self.inner.discard_part(id);
        self.inner
            .tell(conversation_id, id, TransferState::Declined, None)
            .await;
        Ok(message)
    }

    /// The person resumes a paused transfer (after freeing space or choosing a folder).
    pub(crate) async fn resume(&self, conversation_id: &str, id: &str) -> Result<Message, FileError> {
        let message = self
            .decide(conversation_id, id, &[TransferState::Paused], TransferState::Waiting)
            .await?
            .ok_or(FileError::NotNow("that file is not paused"))?;
        self.inner.notice(FileNotice::Schedule(conversation_id.to_owned()));
        Ok(message)
    }

    /// The receiver's decision about an incoming transfer: `to`, if it is in one of `from`.
    async fn decide(
        &self,
        conversation_id: &str,
        id: &str,
        from: &[TransferState],
        to: TransferState,
    ) -> Result<Option<Message>, FileError> {
        Ok(self
            .inner
            .set_state(conversation_id, id, Direction::Incoming, from, to, None)
            .await?)
    }

    /// The person cancels a file, sent or received, that is not finished.
    pub(crate) async fn cancel(&self, conversation_id: &str, id: &str) -> Result<Message, FileError> {
        let record = self
            .inner
            .history
            .transfer(id)
            .await?
            .filter(|r| r.conversation_id == conversation_id)
            .ok_or(FileError::UnknownTransfer)?;
        if record.file.state.is_final() {
            return Err(FileError::NotNow("that file is already finished"));
        }
        let running = self.inner.stop(id, Stop::Cancelled);
        let message = self
            .inner
            .set_state(
                conversation_id,
                id,
                record.direction,
                &[],
                TransferState::Cancelled,
                None,
            )
            .await?
            .ok_or(FileError::NotNow("that file is already finished"))?;
        if record.direction == Direction::Incoming && !running {
            self.inner.discard_part(id);
        }
        self.inner
            .tell(conversation_id, id, TransferState::Cancelled, None)
            .await;
        Ok(message)
    }
}

impl Inner {
    fn emit(&self, event: CoreEvent) {
        let hook = self.hook.lock().as_ref().map(|(_, events)| events.clone());
        let _ = hook.as_ref().unwrap_or(&self.events).send(event);
    }

    fn notice(&self, notice: FileNotice) {
        if let Some((notices, _)) = self.hook.lock().as_ref() {
            let _ = notices.send(notice);
        }
    }

    /// Whether a receiving run is to stop at `point` as if killed there.
    #[cfg(feature = "test-utils")]
    fn crashes_at(&self, point: CrashPoint) -> bool {
        let crash = *self.crash.lock() == Some(point);
        if crash {
            warn!(?point, "stopping here as if killed (test)");
        }
        crash
    }

    fn part_path(&self, id: &str) -> PathBuf {
        self.parts.join(format!("{id}.part"))
    }

    fn discard_part(&self, id: &str) {
        let path = self.part_path(id);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                warn!(path = %path.display(), error = %e, "could not remove a partial file");
            }
        }
    }

    /// Tells a running transfer to stop; false if it was not running.
    fn stop(&self, id: &str, stop: Stop) -> bool {
        match self.running.lock().get(id) {
            Some(running) => {
                let _ = running.stop.send(Some(stop));
                true
            }
            None => false,
        }
    }

    /// Queues a `file-state` frame for the other side (the chat action outbox).
    async fn tell(&self, user_id: &str, target: &str, state: TransferState, code: Option<&str>) {
        let (id, frame) = crate::chat::file_state_frame(target, state, code);
        match self.history.queue_action(user_id, &id, &frame).await {
            Ok(()) => self.notice(FileNotice::Flush(user_id.to_owned())),
            Err(e) => warn!(error = %e, "could not queue a file state for the other side"),
        }
    }

    /// Changes a transfer's state and shows it.
    async fn set_state(
        &self,
        conversation_id: &str,
        id: &str,
        direction: Direction,
        from: &[TransferState],
        state: TransferState,
        code: Option<&str>,
    ) -> Result<Option<Message>, HistoryError> {
        let changed = self
            .history
            .set_transfer_state(conversation_id, id, direction, from, state, code)
            .await?;
        if let Some(message) = &changed {
            self.emit(CoreEvent::MessageChanged {
                message: message.clone(),
            });
        }
        Ok(changed)
    }

    /// A state frame from the other side, checked: the receiver may say awaiting-accept,
    /// declined or complete about our outgoing transfers; either side may cancel or fail.
    async fn on_remote_state(
        &self,
        user: &User,
        target: &str,
        state: TransferState,
        code: Option<&str>,
    ) -> Option<Message> {
        let record = match self.history.transfer(target).await {
            Ok(Some(r)) if r.conversation_id == user.id => r,
            Ok(_) => {
                warn!(user = %user.username, target, "file state for a transfer that is not theirs: refused");
                return None;
            }
            Err(e) => {
                warn!(error = %e, "could not read a transfer");
                return None;
            }
        };
        let allowed = match state {
            TransferState::AwaitingAccept | TransferState::Declined | TransferState::Complete => {
                record.direction == Direction::Outgoing
            }
            TransferState::Cancelled | TransferState::Failed => true,
            _ => false,
        };
        if !allowed {
            warn!(user = %user.username, target, state = state.as_str(), "file state not theirs to send: refused");
            return None;
        }
        if matches!(state, TransferState::Cancelled | TransferState::Failed) {
            self.stop(target, Stop::CancelledThere);
            if record.direction == Direction::Incoming {
                self.discard_part(target);
            }
        }
        let from: &[TransferState] = match state {
            // Only while nothing has started; a request already moved it on.
            TransferState::AwaitingAccept => &[TransferState::Waiting],
            _ => &[],
        };
        let result = self
            .set_state(&user.id, target, record.direction, from, state, code)
            .await;
        if state == TransferState::Complete {
            if let Err(e) = self.history.set_transfer_progress(target, record.file.size).await {
                debug!(error = %e, "progress not recorded");
            }
        }
        match result {
            Ok(Some(message)) => {
                info!(user = %user.username, target, state = state.as_str(), "file state from the other side");
                let message = if state == TransferState::Complete {
                    self.history.message(target).await.ok().flatten().unwrap_or(message)
                } else {
                    message
                };
                Some(message)
            }
            Ok(None) => {
                debug!(
                    target,
                    state = state.as_str(),
                    "file state changes nothing (finished already)"
                );
                None
            }
            Err(e) => {
                warn!(error = %e, "could not record a file state");
                None
            }
        }
    }

    async fn schedule(self: &Arc<Self>, user_id: &str, manager: &PeerManager, peer: &PeerId) {
        let waiting = match self.history.unfinished_transfers(user_id, Direction::Incoming).await {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "could not read waiting transfers");
                return;
            }
        };
        for record in waiting {
            if record.file.state != TransferState::Waiting {
                continue;
            }
            let stop = {
                let mut running = self.running.lock();
                let busy = running
                    .values()
                    .filter(|r| r.user_id == user_id && r.direction == Direction::Incoming)
                    .count();
                if busy >= MAX_RECEIVING_PER_PEER {
                    return;
                }
                if running.contains_key(&record.id) {
                    continue;
                }
                let (stop, stop_rx) = watch::channel(None);
                running.insert(
                    record.id.clone(),
                    Running {
                        user_id: user_id.to_owned(),
                        direction: Direction::Incoming,
                        stop,
                    },
                );
                stop_rx
            };
            let inner = self.clone();
            let (manager, peer) = (manager.clone(), peer.clone());
            let span = tracing::info_span!("transfer", role = "receive", id = %record.id, peer = %peer);
            tokio::spawn(
                async move {
                    let id = record.id.clone();
                    let outcome = receive::receive(&inner, record.clone(), &manager, &peer, stop).await;
                    inner.finish(&record, outcome).await;
                    inner.running.lock().remove(&id);
                    inner.notice(FileNotice::Schedule(record.conversation_id.clone()));
                }
                .instrument(span),
            );
        }
    }

    /// Registers a running outgoing transfer; None when this person has too many running.
    ///
    /// A request for a transfer still sending here supersedes that run: a receiver asks again
    /// only after giving its own run up (its request or the data was lost on a path that never
    /// reported closing, as under heavy loss), so the old run would only answer `busy` until
    /// its channel timed out.
    async fn start_sending(&self, user_id: &str, id: &str) -> Option<watch::Receiver<Option<Stop>>> {
        let stale = {
            let running = self.running.lock();
            running
                .get(id)
                .filter(|r| r.user_id == user_id && r.direction == Direction::Outgoing)
                .map(|r| r.stop.send(Some(Stop::Superseded)))
                .is_some()
        };
        if stale {
            debug!("asked again for a transfer still sending: the old run stops");
            let deadline = tokio::time::Instant::now() + SUPERSEDE_WAIT;
            while self.running.lock().contains_key(id) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let mut running = self.running.lock();
        let busy = running
            .values()
            .filter(|r| r.user_id == user_id && r.direction == Direction::Outgoing)
            .count();
        if busy >= MAX_SENDING_PER_PEER || running.contains_key(id) {
            return None;
        }
        let (stop, stop_rx) = watch::channel(None);
        running.insert(
            id.to_owned(),
            Running {
                user_id: user_id.to_owned(),
                direction: Direction::Outgoing,
                stop,
            },
        );
        Some(stop_rx)
    }

    /// Records how a run ended, tells the other side what it must know, and shows it.
    async fn finish(&self, record: &TransferRecord, outcome: Outcome) {
        let (conversation, id, direction) = (&record.conversation_id, &record.id, record.direction);
        debug!(?outcome, "transfer run ended");
        let result = match outcome {
            Outcome::Saved(path) => {
                let path = path.display().to_string();
                let (action, frame) = crate::chat::file_state_frame(id, TransferState::Complete, None);
                match self
                    .history
                    .complete_transfer(id, &path, record.file.size, (&action, &frame))
                    .await
                {
                    Ok(Some(message)) => {
                        info!(%path, "file received and verified");
                        self.emit(CoreEvent::MessageChanged { message });
                        self.notice(FileNotice::Flush(conversation.clone()));
                    }
                    Ok(None) => debug!("finished elsewhere meanwhile"),
                    Err(e) => warn!(error = %e, "could not record a finished transfer"),
                }
                Ok(None)
            }
            Outcome::AllAcknowledged => Ok(None),
            Outcome::Interrupted(reason) => {
                debug!(%reason, "transfer interrupted; it resumes on the next connection");
                self.back_to_waiting(record).await
            }
            Outcome::RetryLater(reason) => {
                debug!(%reason, "transfer retried shortly");
                let r = self.back_to_waiting(record).await;
                tokio::time::sleep(BUSY_RETRY).await;
                r
            }
            Outcome::Paused(code) => {
                self.set_state(conversation, id, direction, &[], TransferState::Paused, Some(code))
                    .await
            }
            Outcome::Failed { code, tell } => {
                if direction == Direction::Incoming {
                    self.discard_part(id);
                }
                let r = self
                    .set_state(conversation, id, direction, &[], TransferState::Failed, Some(&code))
                    .await;
                if tell {
                    self.tell(conversation, id, TransferState::Failed, Some(&code)).await;
                }
                r
            }
            Outcome::Cancelled => {
                // The state was set by whoever cancelled; only the leftovers are ours.
                if direction == Direction::Incoming {
                    self.discard_part(id);
                }
                Ok(None)
            }
            Outcome::Stopped => self.back_to_waiting(record).await,
        };
        if let Err(e) = result {
            warn!(error = %e, "could not record how a transfer ended");
        }
    }

    /// A run ended without finishing the transfer: it waits for the next one.
    async fn back_to_waiting(&self, record: &TransferRecord) -> Result<Option<Message>, HistoryError> {
        self.set_state(
            &record.conversation_id,
            &record.id,
            record.direction,
            &[TransferState::Transferring],
            TransferState::Waiting,
            None,
        )
        .await
    }

    /// Progress for the person: bytes durably stored by the receiver.
    fn progress(&self, record: &TransferRecord, bytes_done: u64, bytes_per_sec: u64, resumed_from: Option<u64>) {
        self.emit(CoreEvent::TransferProgress {
            id: record.id.clone(),
            conversation_id: record.conversation_id.clone(),
            bytes_done,
            size: record.file.size,
            bytes_per_sec,
            resumed_from,
        });
    }
}

/// [`picture::display_copy`] off the runtime, with the decode timeout.
pub(crate) async fn display_copy(path: PathBuf) -> Result<(Vec<u8>, &'static str), PictureError> {
    picture::off_runtime(picture::DECODE_TIMEOUT, move || picture::display_copy(&path)).await
}

/// Transfer speed over the last few seconds, for "time left" that does not jump around.
pub(crate) struct Rate {
    samples: std::collections::VecDeque<(std::time::Instant, u64)>,
}

impl Rate {
    const WINDOW: Duration = Duration::from_secs(3);

    pub(crate) fn new(at: u64) -> Rate {
        let mut samples = std::collections::VecDeque::new();
        samples.push_back((std::time::Instant::now(), at));
        Rate { samples }
    }

    /// Records `at` bytes now; returns bytes per second over the window.
    pub(crate) fn update(&mut self, at: u64) -> u64 {
        let now = std::time::Instant::now();
        self.samples.push_back((now, at));
        while self.samples.len() > 2 && now.duration_since(self.samples[1].0) > Self::WINDOW {
            self.samples.pop_front();
        }
        let (t0, b0) = self.samples[0];
        let secs = now.duration_since(t0).as_secs_f64();
        if secs <= 0.0 {
            return 0;
        }
        (at.saturating_sub(b0) as f64 / secs) as u64
    }
}
