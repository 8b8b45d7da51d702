#!/usr/bin/env bash
# End-to-end tests of the desktop app (tests/tests/e2e.rs): builds the app binary with the UI
# embedded, then drives two instances through tauri-driver on a private Xvfb display.
#
#   scripts/e2e.sh [extra cargo test args]
#   PARLEY_SCREENSHOTS=docs/screenshots scripts/e2e.sh    # also save window screenshots
#
# Needs `scripts/setup.sh test` (tauri-driver, WebKitWebDriver, Xvfb, keyutils) and a built UI
# (`npm run build` in ui/; ./test.sh builds it first). Runs in a fresh kernel session keyring:
# the apps keep their session tokens there (PARLEY_KEYRING=keyutils), so a restarted app
# restores its session, and nothing is left behind in the user's keyrings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ -f ui/dist/index.html ] || { echo "e2e: ui/dist is missing: run 'npm run build' in ui/ first" >&2; exit 1; }

# The binary embeds ui/dist only with tauri's custom-protocol feature (a plain debug build loads
# the Vite dev server). `--workspace` keeps the features of every other crate as `cargo test
# --workspace` resolves them, so only tauri, tauri-macros and the crates above them (the app) are
# built a second time, once; after that Cargo keeps both variants and switching rebuilds nothing.
# (`-p parley` would resolve tokio, futures, tracing, ... differently and rebuild much of the
# app's ~380 dependencies in a third variant.)
FEATURES=(--workspace --features tauri/custom-protocol)
cargo build "${FEATURES[@]}" --bin parley

target="${CARGO_TARGET_DIR:-$PWD/target}"
export PARLEY_APP="$target/debug/parley"
export PARLEY_E2E=1 PARLEY_TEST_KEYUTILS=1
exec keyctl session - cargo test "${FEATURES[@]}" --test e2e "$@" -- --nocapture --test-threads=1
