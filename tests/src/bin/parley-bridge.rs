//! `parley-bridge`: the real app — its core, its commands, its events — on Tauri's mock runtime,
//! with the page's side of the IPC served over a WebSocket. A browser page that forwards its
//! `invoke`s there (`ui/tests/browser/bridge-backend.ts`) runs Parley's UI in Chromium against
//! a real core: how the browser tests call between two real cores, and how a Chromium page takes
//! the part of a webview with WebRTC opposite a Linux app. Test tooling; not shipped.
//!
//! Configured like the app, by its environment (`PARLEY_PROFILE`, `PARLEY_KEYRING=memory`,
//! `PARLEY_EMBEDDED_DIR`, …). Prints `PARLEY_BRIDGE ws://127.0.0.1:<port>` on stdout once it
//! listens, and serves until killed.
//!
//! Frames (one page per connection; a reloaded page reconnects):
//! - page → bridge, text: `{"id": 1, "cmd": "snapshot", "args": {…}}`; binary (a command whose
//!   body is raw bytes): a 4-byte big-endian header length, the header
//!   `{"id": 1, "cmd": "…", "headers": {"Name": "value"}}`, then the body.
//! - bridge → page, text: `{"id": 1, "ok": …}` or `{"id": 1, "err": {code, message}}`, and every
//!   event the app emits, `{"event": "core-event", "payload": …}`; binary: a raw answer, framed
//!   like a raw request with the header `{"id": 1}`.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, value::RawValue};
use tauri::http::{HeaderMap, HeaderName, HeaderValue};
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Listener, Manager, RunEvent, WebviewWindow};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio_tungstenite::tungstenite::Message;

type Pages = Arc<Mutex<Vec<UnboundedSender<Message>>>>;

#[derive(Deserialize)]
struct Invoke {
    id: u64,
    cmd: String,
    #[serde(default)]
    args: Option<Box<RawValue>>,
    #[serde(default)]
    headers: std::collections::HashMap<String, String>,
}

#[allow(clippy::print_stdout)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    parley_lib::init_tracing();
    let app = parley_lib::app(mock_builder()).build(mock_context(noop_assets()))?;

    let pages: Pages = Arc::default();
    for name in [parley_lib::CORE_EVENT, parley_lib::OPEN_CONVERSATION_EVENT] {
        let pages = pages.clone();
        app.listen_any(name, move |event| {
            let frame = format!(r#"{{"event":{},"payload":{}}}"#, json!(name), event.payload());
            lock(&pages).retain(|page| page.send(Message::text(frame.clone())).is_ok());
        });
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    println!("PARLEY_BRIDGE ws://{}", listener.local_addr()?);
    // The mock runtime runs the app's set-up (which opens the profile and makes the window)
    // once its loop starts; the page is served from then on.
    let mut listener = Some(listener);
    app.run(move |handle, event| match event {
        RunEvent::Ready => {
            let (Some(listener), Some(window)) = (listener.take(), handle.get_webview_window("main")) else {
                tracing::error!("the app made no main window");
                return handle.exit(1);
            };
            tauri::async_runtime::spawn(accept(listener, window, pages.clone()));
        }
        RunEvent::Exit => parley_lib::on_exit(handle),
        _ => {}
    });
    Ok(())
}

async fn accept(listener: std::net::TcpListener, window: WebviewWindow<MockRuntime>, pages: Pages) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => return tracing::error!(error = %e, "cannot listen"),
    };
    loop {
        match listener.accept().await {
            Ok((stream, _)) => drop(tauri::async_runtime::spawn(serve(
                stream,
                window.clone(),
                pages.clone(),
            ))),
            Err(e) => tracing::warn!(error = %e, "accept failed"),
        }
    }
}

fn lock(pages: &Pages) -> std::sync::MutexGuard<'_, Vec<UnboundedSender<Message>>> {
    pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn serve(stream: TcpStream, window: WebviewWindow<MockRuntime>, pages: Pages) {
    let socket = match tokio_tungstenite::accept_async(stream).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::warn!(error = %e, "not a WebSocket");
            return;
        }
    };
    let (mut sink, mut frames) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    lock(&pages).push(tx.clone());
    tauri::async_runtime::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(frame)) = frames.next().await {
        let request = match frame {
            Message::Text(text) => parse(text.as_bytes(), None),
            Message::Binary(bytes) => split(&bytes).and_then(|(header, body)| parse(header, Some(body.to_vec()))),
            Message::Close(_) => break,
            _ => continue,
        };
        let (invoke, body) = match request {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %e, "bad frame from the page");
                continue;
            }
        };
        let (window, tx) = (window.clone(), tx.clone());
        // `get_ipc_response` waits for the command's answer on this thread.
        tauri::async_runtime::spawn_blocking(move || {
            let id = invoke.id;
            let _ = tx.send(answer(id, call(&window, invoke, body)));
        });
    }
}

/// A binary frame's header and body.
fn split(bytes: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let len = bytes.get(..4).ok_or("a binary frame shorter than its header length")?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let rest = &bytes[4..];
    if len > rest.len() {
        return Err(format!("a header of {len} bytes in a frame of {}", bytes.len()));
    }
    Ok(rest.split_at(len))
}

fn parse(header: &[u8], body: Option<Vec<u8>>) -> Result<(Invoke, InvokeBody), String> {
    let invoke: Invoke = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let body = match body {
        Some(raw) => InvokeBody::Raw(raw),
        None => {
            let args = invoke.args.as_ref().map_or("{}", |a| a.get());
            InvokeBody::Json(serde_json::from_str(args).map_err(|e| e.to_string())?)
        }
    };
    Ok((invoke, body))
}

fn call(
    window: &WebviewWindow<MockRuntime>,
    invoke: Invoke,
    body: InvokeBody,
) -> Result<InvokeResponseBody, serde_json::Value> {
    let mut headers = HeaderMap::new();
    for (name, value) in &invoke.headers {
        let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) else {
            return Err(json!({"code": "invalid_input", "message": format!("bad header {name}")}));
        };
        headers.insert(name, value);
    }
    let request = InvokeRequest {
        cmd: invoke.cmd,
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().map_err(|_| json!("bad url"))?,
        body,
        headers,
        invoke_key: INVOKE_KEY.to_owned(),
    };
    get_ipc_response(window, request)
}

fn answer(id: u64, result: Result<InvokeResponseBody, serde_json::Value>) -> Message {
    match result {
        Ok(InvokeResponseBody::Json(json)) => Message::text(format!(r#"{{"id":{id},"ok":{json}}}"#)),
        Ok(InvokeResponseBody::Raw(bytes)) => {
            let header = json!({ "id": id }).to_string();
            let mut frame = Vec::with_capacity(4 + header.len() + bytes.len());
            frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
            frame.extend_from_slice(header.as_bytes());
            frame.extend_from_slice(&bytes);
            Message::binary(frame)
        }
        Err(err) => Message::text(json!({ "id": id, "err": err }).to_string()),
    }
}
