//! Bounds on every user-supplied field, the same on the server (which enforces them) and in
//! clients (which check before sending). Each check names the field it failed on, so a form can
//! point at it.

/// A field outside its bounds: answered as `invalid_input` with `field` set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidField {
    /// The request field at fault (`username`, `room`, …).
    pub field: &'static str,
    /// What is wrong and what is allowed, for people.
    pub message: String,
}

/// Shortest username, in characters (usernames are ASCII).
pub const USERNAME_MIN: usize = 3;
/// Longest username.
pub const USERNAME_MAX: usize = 32;
/// Longest email address, in bytes (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// Shortest password, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest password, in bytes: argon2's input stays bounded.
pub const PASSWORD_MAX: usize = 1024;
/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 64;
/// Longest bio, in characters.
pub const BIO_MAX: usize = 500;
/// Longest status line, in characters.
pub const STATUS_MAX: usize = 100;
/// Longest room name, in characters.
pub const ROOM_MAX: usize = 64;
/// Logins are a username or an email; anything longer cannot match either.
pub const LOGIN_MAX: usize = EMAIL_MAX;

fn invalid(field: &'static str, message: String) -> InvalidField {
    InvalidField { field, message }
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Letters, digits, `_`, `.`, `-`; starts with a letter or digit. Kept ASCII so names cannot be
/// spoofed with look-alike characters.
pub fn username(value: &str) -> Result<(), InvalidField> {
    let len = value.len();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(invalid(
            "username",
            format!("username must be {USERNAME_MIN} to {USERNAME_MAX} characters long"),
        ));
    }
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok {
        return Err(invalid(
            "username",
            "username may contain only letters, digits, '_', '.' and '-', and must start with a letter or digit".into(),
        ));
    }
    Ok(())
}

/// Deliberately loose (one `@`, something on each side, a dot in the domain): the only real check
/// of an address is mail arriving, and the server sends none.
pub fn email(value: &str) -> Result<(), InvalidField> {
    let bad = || invalid("email", "email must look like name@example.org".into());
    if value.len() > EMAIL_MAX {
        return Err(invalid(
            "email",
            format!("email must be at most {EMAIL_MAX} characters"),
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(())
}

/// At least [`PASSWORD_MIN`] characters and at most [`PASSWORD_MAX`] bytes; anything else goes.
pub fn password(value: &str) -> Result<(), InvalidField> {
    let len = char_len(value);
    if len < PASSWORD_MIN {
        return Err(invalid(
            "password",
            format!("password must be at least {PASSWORD_MIN} characters"),
        ));
    }
    if value.len() > PASSWORD_MAX {
        return Err(invalid(
            "password",
            format!("password must be at most {PASSWORD_MAX} bytes"),
        ));
    }
    Ok(())
}

/// Trims, then bounds and refuses control characters (`allow_newlines` for the bio).
fn text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    allow_newlines: bool,
) -> Result<String, InvalidField> {
    let trimmed = value.trim();
    let len = char_len(trimmed);
    if len < min {
        return Err(invalid(field, format!("{field} must not be empty")));
    }
    if len > max {
        return Err(invalid(field, format!("{field} must be at most {max} characters")));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && c == '\n'))
    {
        return Err(invalid(field, format!("{field} must not contain control characters")));
    }
    Ok(trimmed.to_owned())
}

/// Trimmed; 1 to [`DISPLAY_NAME_MAX`] characters, no control characters.
pub fn display_name(value: &str) -> Result<String, InvalidField> {
    text("display_name", value, 1, DISPLAY_NAME_MAX, false)
}

/// Trimmed; up to [`BIO_MAX`] characters; newlines allowed (CRLF becomes LF).
pub fn bio(value: &str) -> Result<String, InvalidField> {
    text("bio", &value.replace("\r\n", "\n"), 0, BIO_MAX, true)
}

/// Trimmed; up to [`STATUS_MAX`] characters, no control characters.
pub fn status(value: &str) -> Result<String, InvalidField> {
    text("status", value, 0, STATUS_MAX, false)
}

/// A username or an email address: not empty, not longer than either can be.
pub fn login(value: &str) -> Result<(), InvalidField> {
    if value.is_empty() || value.len() > LOGIN_MAX {
        return Err(invalid("login", "login must be your username or email".into()));
    }
    Ok(())
}

/// Room names (also checked by clients before they send a join): 1–64 characters of letters (any
/// script), digits, spaces inside, `_ . - #`. The WebSocket answers a bad one with `invalid_room`.
pub fn room(value: &str) -> Result<(), InvalidField> {
    let refuse = |message: &str| Err(invalid("room", message.to_owned()));
    let len = char_len(value);
    if len == 0 || len > ROOM_MAX {
        return refuse(&format!("room name must be 1 to {ROOM_MAX} characters"));
    }
    if value.trim() != value {
        return refuse("room name must not start or end with a space");
    }
    if !value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-' | '#'))
    {
        return refuse("room name may contain letters, digits, spaces, '_', '.', '-' and '#'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: InvalidField) -> &'static str {
        e.field
    }

    #[test]
    fn usernames() {
        assert!(username("alice").is_ok());
        assert!(username("a.b-c_9").is_ok());
        assert_eq!(field_of(username("al").unwrap_err()), "username");
        assert!(username(&"a".repeat(33)).is_err());
        assert!(username("-alice").is_err());
        assert!(username("ali ce").is_err());
        assert!(username("аlice").is_err(), "Cyrillic look-alike must be refused");
    }

    #[test]
    fn emails() {
        assert!(email("a@example.org").is_ok());
        for bad in ["", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b@c.d", "a@.com", "a@com."] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(display_name("  Alice  ").unwrap(), "Alice");
        assert!(display_name("   ").is_err());
        assert!(display_name(&"x".repeat(65)).is_err());
        assert!(display_name("a\u{7}b").is_err());
        assert_eq!(bio("line1\r\nline2").unwrap(), "line1\nline2");
        assert!(status("a\nb").is_err());
        assert!(status("").is_ok());
    }

    #[test]
    fn rooms() {
        assert!(room("general").is_ok());
        assert!(room("café #2").is_ok());
        assert!(room("").is_err());
        assert!(room(" x").is_err());
        assert!(room("a/b").is_err());
        assert!(room("<script>").is_err());
        assert!(room(&"r".repeat(65)).is_err());
    }
}
