//! The people this profile has met: the server's user objects as last seen, kept so names,
//! avatars and "who is alice?" resolve with no network at all.

use parley_protocol::User;
use rusqlite::{params, OptionalExtension};

use super::{now_ms, History, HistoryError};

fn decode(json: String) -> Result<User, HistoryError> {
    serde_json::from_str(&json).map_err(|e| HistoryError::Corrupt(format!("contact record: {e}")))
}

impl History {
    /// Records (or refreshes) what the server says about a user. Emails are never kept: other
    /// people's addresses are not ours to store.
    pub async fn remember_contact(&self, user: &User) -> Result<(), HistoryError> {
        let user = User {
            email: None,
            ..user.clone()
        };
        let json = serde_json::to_string(&user).map_err(|e| HistoryError::Corrupt(e.to_string()))?;
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO contacts (user_id, username, user_json, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(user_id) DO UPDATE SET username = excluded.username,
                 user_json = excluded.user_json, updated_at = excluded.updated_at",
                params![user.id, user.username, json, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// A contact by user id.
    pub async fn contact(&self, user_id: &str) -> Result<Option<User>, HistoryError> {
        let user_id = user_id.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT user_json FROM contacts WHERE user_id = ?1", [user_id], |r| {
                r.get(0)
            })
            .optional()?
            .map(decode)
            .transpose()
        })
        .await
    }

    /// The contact with this username, ignoring case (usernames are unique that way).
    pub async fn contact_by_username(&self, username: &str) -> Result<Option<User>, HistoryError> {
        let username = username.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT user_json FROM contacts WHERE username = ?1 COLLATE NOCASE ORDER BY updated_at DESC LIMIT 1",
                [username],
                |r| r.get(0),
            )
            .optional()?
            .map(decode)
            .transpose()
        })
        .await
    }

    /// Every contact, by username.
    pub async fn contacts(&self) -> Result<Vec<User>, HistoryError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT user_json FROM contacts ORDER BY username COLLATE NOCASE")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|json| decode(json?)).collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> User {
        User {
            id: id.into(),
            username: name.into(),
            display_name: name.to_uppercase(),
            bio: String::new(),
            status: String::new(),
            avatar_url: None,
            created_at: 0,
            email: Some("secret@example.org".into()),
        }
    }

    #[tokio::test]
    async fn contacts_resolve_by_name_and_drop_emails() {
        let history = History::open_in_memory().unwrap();
        history.remember_contact(&user("u1", "Alice")).await.unwrap();
        history.remember_contact(&user("u2", "bob")).await.unwrap();
        let mut renamed = user("u1", "Alice");
        renamed.display_name = "Alice L.".into();
        history.remember_contact(&renamed).await.unwrap();
        let alice = history.contact_by_username("alice").await.unwrap().unwrap();
        assert_eq!(alice.id, "u1");
        assert_eq!(alice.display_name, "Alice L.");
        assert_eq!(alice.email, None);
        assert!(history.contact_by_username("carol").await.unwrap().is_none());
        assert_eq!(history.contacts().await.unwrap().len(), 2);
        assert_eq!(history.contact("u2").await.unwrap().unwrap().username, "bob");
    }
}
