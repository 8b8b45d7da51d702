//! Safety numbers: what two people compare to know that no one sits between them. Computed as
//! libsignal's numeric fingerprint (version 0): for each side, SHA-512 iterated over its
//! identity key and stable identifier; 30 digits each; the two halves in sorted order, so both
//! sides get the same 60 digits. (Reimplemented from the description, checked against
//! libsignal's published test vector.)

use sha2::{Digest, Sha512};

/// Iterations of the hash (libsignal's own apps use 5200).
pub(crate) const ITERATIONS: u32 = 5200;

/// 30 digits for one side.
fn half(key: &[u8], identifier: &[u8], iterations: u32) -> String {
    let mut hash = Vec::with_capacity(2 + key.len() + identifier.len());
    hash.extend_from_slice(&0u16.to_be_bytes());
    hash.extend_from_slice(key);
    hash.extend_from_slice(identifier);
    for _ in 0..iterations {
        let mut hasher = Sha512::new();
        hasher.update(&hash);
        hasher.update(key);
        hash = hasher.finalize().to_vec();
    }
    hash[..30]
        .chunks(5)
        .map(|chunk| {
            let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            format!("{:05}", value % 100_000)
        })
        .collect()
}

/// The 60-digit safety number of two identities (key and stable identifier each); the same
/// whichever side computes it.
pub(crate) fn safety_number(local: (&[u8], &str), remote: (&[u8], &str), iterations: u32) -> String {
    let mine = half(local.0, local.1.as_bytes(), iterations);
    let theirs = half(remote.0, remote.1.as_bytes(), iterations);
    if mine <= theirs {
        mine + &theirs
    } else {
        theirs + &mine
    }
}

/// The digits in twelve groups of five, as people read them aloud.
pub(crate) fn grouped(number: &str) -> String {
    number
        .as_bytes()
        .chunks(5)
        .map(|c| std::str::from_utf8(c).expect("digits"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // libsignal's fingerprint test vector (its `DISPLAYABLE_FINGERPRINT` for version 0 keys).
    const ALICE_IDENTITY: [u8; 33] = [
        0x05, 0x06, 0x86, 0x3b, 0xc6, 0x6d, 0x02, 0xb4, 0x0d, 0x27, 0xb8, 0xd4, 0x9c, 0xa7, 0xc0, 0x9e, 0x92, 0x39,
        0x23, 0x6f, 0x9d, 0x7d, 0x25, 0xd6, 0xfc, 0xca, 0x5c, 0xe1, 0x3c, 0x70, 0x64, 0xd8, 0x68,
    ];
    const BOB_IDENTITY: [u8; 33] = [
        0x05, 0xf7, 0x81, 0xb6, 0xfb, 0x32, 0xfe, 0xd9, 0xba, 0x1c, 0xf2, 0xde, 0x97, 0x8d, 0x4d, 0x5d, 0xa2, 0x8d,
        0xc3, 0x40, 0x46, 0xae, 0x81, 0x44, 0x02, 0xb5, 0xc0, 0xdb, 0xd9, 0x6f, 0xda, 0x90, 0x7b,
    ];
    const EXPECTED: &str = "300354477692869396892869876765458257569162576843440918079131";

    #[test]
    fn matches_libsignals_test_vector_from_both_sides() {
        let alice = (&ALICE_IDENTITY[..], "+14152222222");
        let bob = (&BOB_IDENTITY[..], "+14153333333");
        assert_eq!(safety_number(alice, bob, ITERATIONS), EXPECTED);
        assert_eq!(safety_number(bob, alice, ITERATIONS), EXPECTED);
    }

    #[test]
    fn changes_with_either_key() {
        let base = safety_number((&[1; 32], "alice"), (&[2; 32], "bob"), 10);
        assert_eq!(base.len(), 60);
        assert!(base.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(base, safety_number((&[3; 32], "alice"), (&[2; 32], "bob"), 10));
        assert_ne!(base, safety_number((&[1; 32], "alice"), (&[3; 32], "bob"), 10));
        assert_eq!(grouped(&base).split(' ').count(), 12);
    }
}
