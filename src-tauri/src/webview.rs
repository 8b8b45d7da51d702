//! The webview's media settings, ready for calls. On Linux, WebKitGTK ships with WebRTC and
//! media capture off and wry denies every permission request, so both are set deliberately
//! here: camera and microphone requests are allowed (the page asks only when the person starts
//! or answers a call), everything else keeps WebKit's default answer (deny).
//! Other platforms' webviews need nothing here; `docs/webview-media.md` records what each has.

use tauri::{Runtime, WebviewWindow};

/// Env var that swaps real cameras and microphones for WebKitGTK's mock devices (tests).
/// Linux only: no other platform's webview has mock devices to swap in.
#[cfg(target_os = "linux")]
pub const MOCK_MEDIA_ENV: &str = "PARLEY_MOCK_MEDIA";

pub fn configure<R: Runtime>(window: &WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    {
        let mock = std::env::var_os(MOCK_MEDIA_ENV).is_some_and(|v| v == "1");
        let result = window.with_webview(move |webview| linux::configure(&webview.inner(), mock));
        if let Err(e) = result {
            tracing::warn!(error = %e, "webview media settings not applied");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// Env var that keeps a bridged call's microphone in the page (`1`) instead of capturing it
/// from the sound server in Rust (docs/call-media-bridge.md): for comparing the two, and a way
/// back should the sound server misbehave.
pub const PAGE_MICROPHONE_ENV: &str = "PARLEY_PAGE_MICROPHONE";

pub fn page_microphone() -> bool {
    std::env::var(PAGE_MICROPHONE_ENV).as_deref() == Ok("1")
}

/// Env var that keeps a bridged call's sound playing in the page (`1`) instead of on the sound
/// server from Rust (docs/call-media-bridge.md), as `PARLEY_PAGE_MICROPHONE` does the microphone.
pub const PAGE_SPEAKER_ENV: &str = "PARLEY_PAGE_SPEAKER";

pub fn page_speaker() -> bool {
    std::env::var(PAGE_SPEAKER_ENV).as_deref() == Ok("1")
}

/// Env var that turns WebKitGTK's GPU compositing off (`0`) for machines without a GPU.
#[cfg(target_os = "linux")]
pub const GPU_COMPOSITING_ENV: &str = "PARLEY_GPU_COMPOSITING";

/// Whether WebKitGTK composites the page with OpenGL (its default). Without a GPU, Mesa's OpenGL
/// is llvmpipe, a software rasterizer: measured here (2 cores, no GPU) it takes two thirds of a
/// core per window and, in a bridged call, starves WebCodecs and the audio worklets (README,
/// "Calls": several times the delay of compositing off). Off is not the default even there:
/// WebKitGTK 2.50 without compositing hung now and then in the end-to-end tests (a WebDriver
/// screenshot that never came back), so it stays a choice (docs/webview-media.md).
#[cfg(target_os = "linux")]
fn gpu_compositing() -> bool {
    let on = std::env::var(GPU_COMPOSITING_ENV).as_deref() != Ok("0");
    tracing::info!(gpu_compositing = on, "webview compositing");
    on
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::glib::prelude::Cast;
    use webkit2gtk::{
        HardwareAccelerationPolicy, PermissionRequest, PermissionRequestExt, SettingsExt, UserMediaPermissionRequest,
        UserMediaPermissionRequestExt, WebView, WebViewExt,
    };

    pub fn configure(view: &WebView, mock_devices: bool) {
        if let Some(settings) = WebViewExt::settings(view) {
            if !super::gpu_compositing() {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
            // Has no effect where WebRTC is compiled out (Debian's 2.50), but turns it on
            // where a distribution ships it.
            settings.set_enable_webrtc(true);
            settings.set_enable_media_stream(true);
            settings.set_enable_mock_capture_devices(mock_devices);
        }
        view.connect_permission_request(|_, request: &PermissionRequest| {
            if let Some(media) = request.downcast_ref::<UserMediaPermissionRequest>() {
                tracing::info!(
                    audio = media.is_for_audio_device(),
                    video = media.is_for_video_device(),
                    "camera/microphone request allowed"
                );
                request.allow();
                return true;
            }
            // Not handled: WebKit's default (deny) applies.
            false
        });
    }
}
