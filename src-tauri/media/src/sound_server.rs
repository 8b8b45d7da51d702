//! What the microphone's capture and the speaker's playback share on the desktop's sound server
//! (PulseAudio's protocol, which PipeWire serves too): the connection, made without starting a
//! server where none runs, the main loop run until something is settled, and the properties of
//! a phone call's stream (`media.role=phone`, `filter.want=echo-cancel`), by which a server with
//! an echo canceller pairs the call's playback with its recording.

use std::time::{Duration, Instant};

use libpulse_binding as pulse;
use pulse::context::{Context, FlagSet as ContextFlags, State as ContextState};
use pulse::mainloop::standard::Mainloop;
use pulse::proplist::{properties, Proplist};
use pulse::sample::Spec;
use pulse::stream::{State as StreamState, Stream};
use pulse::time::MicroSeconds;

/// How long the sound server has to answer while a stream is set up.
pub(crate) const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the sound server can't be used: none runs, or it did not answer.
#[derive(Debug)]
pub(crate) struct NoServer(pub(crate) String);

/// A connection to the sound server, ready. The context must be dropped before the main loop
/// (libpulse aborts when a context outlives its main loop): keep them in that field order.
pub(crate) fn connect(deadline: Instant) -> Result<(Mainloop, Context), NoServer> {
    let none = |what: &str| NoServer(what.to_owned());
    let mut mainloop = Mainloop::new().ok_or_else(|| none("no PulseAudio main loop"))?;
    let mut props = Proplist::new().ok_or_else(|| none("no PulseAudio property list"))?;
    let _ = props.set_str(properties::APPLICATION_NAME, "Parley");
    let _ = props.set_str(properties::APPLICATION_ID, "app.parley");
    let mut context =
        Context::new_with_proplist(&mainloop, "Parley", &props).ok_or_else(|| none("no PulseAudio context"))?;
    // NOAUTOSPAWN: a desktop without a sound server keeps the page's media, not a new server.
    context
        .connect(None, ContextFlags::NOAUTOSPAWN, None)
        .map_err(|e| NoServer(format!("no sound server ({e})")))?;
    wait(&mut mainloop, deadline, || match context.get_state() {
        ContextState::Ready => Some(Ok(())),
        ContextState::Failed | ContextState::Terminated => Some(Err(none("no sound server answered"))),
        _ => None,
    })?;
    Ok((mainloop, context))
}

/// A new stream of a phone call's sound, not yet connected.
pub(crate) fn phone_stream(context: &mut Context, name: &str, spec: &Spec) -> Option<Stream> {
    let mut props = Proplist::new()?;
    let _ = props.set_str(properties::MEDIA_ROLE, "phone");
    let _ = props.set_str(properties::FILTER_WANT, "echo-cancel");
    Stream::new_with_proplist(context, name, spec, None, &mut props)
}

/// Runs the main loop until `stream` is ready: false when the server refused it, or the deadline passed.
pub(crate) fn wait_ready(mainloop: &mut Mainloop, stream: &Stream, deadline: Instant) -> bool {
    wait(mainloop, deadline, || match stream.get_state() {
        StreamState::Ready => Some(Ok(())),
        StreamState::Failed | StreamState::Terminated => Some(Err(NoServer("the stream was refused".into()))),
        _ => None,
    })
    .is_ok()
}

/// Runs the main loop once: waits up to `timeout` for the server, then handles what came.
/// False when the loop failed (the connection is gone).
pub(crate) fn iterate(mainloop: &mut Mainloop, timeout: MicroSeconds) -> bool {
    mainloop.prepare(Some(timeout)).is_ok() && mainloop.poll().is_ok() && mainloop.dispatch().is_ok()
}

/// The context and the stream are still the server's.
pub(crate) fn still_up(context: &Context, stream: &Stream) -> bool {
    matches!(context.get_state(), ContextState::Ready) && matches!(stream.get_state(), StreamState::Ready)
}

/// Runs the main loop until `done` says how it ended, or the deadline passes.
pub(crate) fn wait<E: From<NoServer>>(
    mainloop: &mut Mainloop,
    deadline: Instant,
    mut done: impl FnMut() -> Option<Result<(), E>>,
) -> Result<(), E> {
    loop {
        if let Some(result) = done() {
            return result;
        }
        if Instant::now() > deadline {
            return Err(NoServer("the sound server did not answer in time".into()).into());
        }
        if !iterate(mainloop, MicroSeconds(50_000)) {
            return Err(NoServer("the sound server's main loop failed".into()).into());
        }
    }
}
