#!/usr/bin/env bash
# Type-checks the core's keyring code (src-tauri/core/src/secrets/mod.rs, unchanged) for Android
# and iOS. The whole core cannot be checked for those targets here: ring's build script compiles
# C and needs the Android NDK's or Xcode's compiler. So a scratch crate under target/ includes
# just that file, with the core's keyring dependencies for each target (keep them in step with
# src-tauri/core/Cargo.toml), and is checked for aarch64-linux-android and aarch64-apple-ios.
#
#   scripts/check-mobile-keyring.sh      (adds the two rustup targets when missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
CRATE="$ROOT/target/mobile-keyring-check"
TARGETS=(aarch64-linux-android aarch64-apple-ios)

installed="$(rustup target list --installed)"
for target in "${TARGETS[@]}"; do
  grep -qx "$target" <<<"$installed" || rustup target add "$target"
done

mkdir -p "$CRATE/src"
cat >"$CRATE/Cargo.toml" <<TOML
[package]
name = "mobile-keyring-check"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
keyring = { version = "4", features = ["linux-keyutils-keyring-store"] }
keyring-core = { version = "1", features = ["sample"] }
thiserror = "2"
serde = { version = "1", features = ["derive"] }
tracing = "0.1"

[target.'cfg(target_os = "ios")'.dependencies]
apple-native-keyring-store = { version = "1", features = ["protected"] }

[target.'cfg(target_os = "android")'.dependencies]
android-native-keyring-store = "1"

[lints.rust]
unexpected_cfgs = { level = "allow" }
TOML
cat >"$CRATE/src/lib.rs" <<RUST
//! The core's secrets module as it is, with a stand-in for the one core type it uses.
#![allow(dead_code)]

#[path = "$ROOT/src-tauri/core/src/secrets/mod.rs"]
mod secrets;

mod server_url {
    /// Stands in for parley_core's ServerUrl: the secrets module only parses and prints it.
    #[derive(Debug, Clone)]
    pub struct ServerUrl(String);

    impl ServerUrl {
        pub fn parse(url: &str) -> Result<ServerUrl, ()> {
            Ok(ServerUrl(url.trim_end_matches('/').to_owned()))
        }
    }

    impl std::fmt::Display for ServerUrl {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
}

pub use secrets::{SecretError, StoreKind};
RUST
# Its own lock file, seeded from the workspace's so the same versions are checked.
[ -f "$CRATE/Cargo.lock" ] || cp "$ROOT/Cargo.lock" "$CRATE/Cargo.lock"
for target in "${TARGETS[@]}"; do
  echo "check-mobile-keyring: $target" >&2
  cargo check --quiet --manifest-path "$CRATE/Cargo.toml" --target "$target" --target-dir "$ROOT/target"
done
echo "check-mobile-keyring: the secrets module compiles for ${TARGETS[*]}" >&2
