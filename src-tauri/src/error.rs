//! What a command rejects with: `{code, message}`, a sentence a person can act on.

use parley_core::CoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    InvalidSettings(String),
    #[error("the settings could not be saved: {0}")]
    Store(#[from] tauri_plugin_store::Error),
    #[error("{0}")]
    InvalidInput(String),
    /// The profile is not open (the start-up screen says why and how to go on).
    #[error("Parley has not opened your profile: {0}")]
    NotStarted(String),
}

impl AppError {
    pub fn code(&self) -> String {
        match self {
            AppError::Core(e) => e.code(),
            AppError::InvalidSettings(_) => "invalid_settings".into(),
            AppError::Store(_) => "settings_unavailable".into(),
            AppError::InvalidInput(_) => "invalid_input".into(),
            AppError::NotStarted(_) => "not_started".into(),
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // The core's own form, which adds details some codes need (a certificate's fingerprint).
        if let AppError::Core(e) = self {
            return e.serialize(serializer);
        }
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("code", &self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

pub type Result<T> = std::result::Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_to_code_and_message() {
        let json =
            serde_json::to_value(AppError::InvalidSettings("theme must be system, light or dark".into())).unwrap();
        assert_eq!(json["code"], "invalid_settings");
        assert_eq!(json["message"], "theme must be system, light or dark");
        let json = serde_json::to_value(AppError::from(CoreError::NotOnline)).unwrap();
        assert_eq!(json["code"], "not_online");
    }
}
