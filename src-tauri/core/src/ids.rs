//! Random identifiers: unique without coordination, and valid wherever ids are checked (ASCII
//! hex, within every length bound).

/// 128 random bits as 32 lower-case hex digits (a message id, a profile id).
pub(crate) fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
