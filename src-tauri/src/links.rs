//! Links in messages open in the system's browser or mail program, never in the app's webview,
//! and only with schemes that cannot run anything: a peer chooses these strings.

use tauri::Url;

/// Schemes a link in a message may have.
const ALLOWED_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Why a link was not opened.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("that link is not a web address")]
    Malformed,
    #[error("only web (http, https) and email (mailto) links open from Parley; this one is {0}:")]
    Scheme(String),
}

/// The link as it will be handed to the system, if it may be.
pub fn external_link(text: &str) -> Result<Url, LinkError> {
    let url = Url::parse(text.trim()).map_err(|_| LinkError::Malformed)?;
    if !ALLOWED_SCHEMES.contains(&url.scheme()) {
        return Err(LinkError::Scheme(url.scheme().to_owned()));
    }
    if url.scheme() != "mailto" && url.host_str().is_none_or(str::is_empty) {
        return Err(LinkError::Malformed);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_and_mail_links_open() {
        for ok in [
            "https://example.org/a?b=c#d",
            "http://192.168.1.2:8080",
            "mailto:bob@example.org",
        ] {
            assert!(external_link(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("javascript:alert(1)", LinkError::Scheme("javascript".into())),
            ("file:///etc/passwd", LinkError::Scheme("file".into())),
            ("tauri://localhost/index.html", LinkError::Scheme("tauri".into())),
            ("data:text/html,<b>x</b>", LinkError::Scheme("data".into())),
            ("not a url", LinkError::Malformed),
            ("https://", LinkError::Malformed),
        ] {
            assert_eq!(external_link(bad).unwrap_err(), why, "{bad}");
        }
    }
}
