#!/usr/bin/env bash
# Builds Parley's Linux packages:
#   - the app: Parley_VERSION_amd64.deb and Parley-VERSION-1.x86_64.rpm (Tauri's bundler, release
#     build with the UI embedded; control fields from tauri.conf.json "bundle");
#   - the server: parley-signal_VERSION-1_amd64.deb (cargo-deb, [package.metadata.deb] in
#     signaling/Cargo.toml; its systemd unit and configuration file are in packaging/signal/).
#
#   packaging/build-packages.sh            release packages, into target/packages/
#   packaging/build-packages.sh --debug    the two .debs from debug builds, into target/packages-debug/
#
# --debug is for the install test in ./test.sh: the same package definitions around the debug
# binaries the test command has already built (the app with the UI embedded, as the end-to-end
# tests run it), so packaging takes seconds instead of a 25-minute release build. The packages
# people install come from the release build.
# Needs what `scripts/setup.sh app` installs, and cargo-deb (installed here when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
# The version scripts/setup.sh installs: cargo-deb 3.8 still packages a dev-profile build (with a
# warning that it means to stop), which --debug relies on.
CARGO_DEB_VERSION=3.8.0

log() { printf 'build-packages: %s\n' "$*" >&2; }

DEBUG=0
case "${1:-}" in
  "") ;;
  --debug) DEBUG=1 ;;
  *) echo "usage: $0 [--debug]" >&2; exit 2 ;;
esac

if ! cargo deb --version >/dev/null 2>&1; then
  log "cargo install cargo-deb $CARGO_DEB_VERSION (a few minutes)"
  cargo install cargo-deb --version "=$CARGO_DEB_VERSION" --locked --quiet
fi
tauri() { TAURI_APP_PATH=src-tauri TAURI_FRONTEND_PATH=ui ui/node_modules/.bin/tauri "$@"; }

if [ "$DEBUG" -eq 1 ]; then
  OUT="$ROOT/target/packages-debug"
  rm -rf "$OUT" target/debug/bundle/deb
  mkdir -p "$OUT"
  [ -f ui/dist/index.html ] || { log "ui/dist is missing: run 'npm run build' in ui/ first"; exit 1; }
  # The binaries scripts/e2e.sh and the PeerJS test build (the same features, so nothing is
  # rebuilt after them): the app with ui/dist embedded, and the server.
  log "debug binaries: the app with the UI embedded, the server"
  cargo build --workspace --features tauri/custom-protocol --bin parley --bin parley-signal >&2
  log "the app: tauri bundle --debug --bundles deb"
  tauri bundle --debug --bundles deb >&2
  cp target/debug/bundle/deb/*.deb "$OUT/"
  log "the server: cargo deb -p parley-signal --profile dev"
  cargo deb -p parley-signal --no-build --profile dev --output "$OUT/" >&2
else
  OUT="$ROOT/target/packages"
  rm -rf "$OUT" target/release/bundle/deb target/release/bundle/rpm
  mkdir -p "$OUT"
  log "the app: tauri build --bundles deb,rpm"
  tauri build --bundles deb,rpm >&2
  cp target/release/bundle/deb/*.deb target/release/bundle/rpm/*.rpm "$OUT/"
  log "the server: cargo deb -p parley-signal"
  cargo deb -p parley-signal --output "$OUT/" >&2
fi

ls -1 "$OUT"/*
