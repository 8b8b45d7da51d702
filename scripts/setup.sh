#!/usr/bin/env bash
# Idempotent set-up for Parley on Debian/Ubuntu.
#
#   scripts/setup.sh [app|test]     (default: app)
#
# app:  system libraries to build and run the Tauri app, Node >= 20.19, Rust, npm packages.
# test: everything in app plus what the tests use (browsers, virtual X server, WebDriver,
#       D-Bus/keyring, screenshots, Redis for the scale-out tests, iproute2/iptables/coturn for
#       the network lab, mingw-w64 and Rust's x86_64-pc-windows-gnu target for the Windows
#       type-check, cargo-deb and mmdebstrap for the packages' install test).
# Installs only what is missing, so a second run takes a second or two.
set -euo pipefail

# Node projects (paths relative to the repository root) whose npm packages are installed.
NODE_PROJECTS=(ui tests/peerjs)

APP_PACKAGES=(build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev
  libayatana-appindicator3-dev librsvg2-dev curl file fonts-noto-color-emoji
  # A bridged call's microphone, captured from the sound server and encoded in Rust.
  libpulse-dev libopus-dev)
TEST_PACKAGES=(chromium xvfb xauth webkit2gtk-driver dbus gnome-keyring keyutils imagemagick
  redis-server
  # The network lab (tests/src/netlab.rs): namespaces, NAT and the real TURN server.
  iproute2 iptables coturn
  # The Windows type-check: the C parts of dependencies (ring, SQLCipher's OpenSSL) are
  # compiled for Windows by their build scripts even when only checking.
  gcc-mingw-w64-x86-64
  # The install test (packaging/install-test.sh): a clean Debian root, booted with systemd.
  mmdebstrap systemd-container
  # The end-to-end tests hide a window as minimizing it would (no window manager on Xvfb).
  xdotool
  # A private sound server with a microphone (tests/src/pulse_mic.rs) for the microphone the
  # app captures itself, and WebKit's capture from it.
  pulseaudio pulseaudio-utils gstreamer1.0-pulseaudio)
NODE_MIN=20.19

MODE="${1:-app}"
case "$MODE" in
  app) PACKAGES=("${APP_PACKAGES[@]}") ;;
  test) PACKAGES=("${APP_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *) echo "usage: $0 [app|test]" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not running as root and sudo is not installed"
  SUDO=(sudo)
fi

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

APT_UPDATED=0
apt_update_once() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages yourself: $*"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
}
apt_install() {
  [ $# -gt 0 ] || return 0
  apt_update_once "$@"
  log "apt-get install $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- system packages -------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" && continue
  # Ubuntu ships Chromium as chromium-browser.
  if [ "$pkg" = chromium ] && is_installed chromium-browser; then continue; fi
  missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update_once "${missing[@]}"
  for i in "${!missing[@]}"; do
    if [ "${missing[$i]}" = chromium ] && ! apt-cache show chromium >/dev/null 2>&1; then
      missing[$i]=chromium-browser
    fi
  done
  apt_install "${missing[@]}"
  # The tests run their own coturn inside a network namespace; a system-wide one the package
  # may have started under systemd is not wanted.
  if [[ " ${missing[*]} " == *" coturn "* ]] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    log "disabling the coturn system service (the tests start their own)"
    "${SUDO[@]}" systemctl disable --now coturn >/dev/null 2>&1 || true
  fi
else
  log "system packages ($MODE) present"
fi

# --- Node.js ---------------------------------------------------------------------------------
node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
  local have
  have="$(node -p 'process.versions.node' 2>/dev/null)" || return 1
  [ "$(printf '%s\n%s\n' "$NODE_MIN" "$have" | sort -V | head -n1)" = "$NODE_MIN" ]
}
if ! node_ok; then
  log "Node.js >= $NODE_MIN not found; trying the distribution's nodejs and npm"
  apt_install nodejs npm
  hash -r
  node_ok || die "Node.js >= $NODE_MIN with npm is required (found: $(node --version 2>/dev/null || echo none)).
  Install Node 20.19+ or 22 LTS, e.g. from https://nodejs.org, NodeSource or nvm, then run this again."
fi
log "node $(node --version), npm $(npm --version 2>/dev/null)"

# --- Rust ------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    die "cargo is installed in ~/.cargo/bin but not on PATH: run 'source \$HOME/.cargo/env' and try again"
  fi
  die "Rust (cargo) is required: install it with rustup (https://rustup.rs):
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
fi
log "$(cargo --version)"

# --- rustfmt and clippy (test): the format and lint stages ------------------------------------
if [ "$MODE" = test ]; then
  for tool in rustfmt clippy; do
    probe=(cargo "${tool/rustfmt/fmt}" --version)
    if ! "${probe[@]}" >/dev/null 2>&1; then
      command -v rustup >/dev/null 2>&1 || die "cargo $tool is missing and rustup is not installed to add it"
      log "rustup component add $tool"
      rustup component add "$tool"
    fi
  done
fi

# --- the Windows target (test): the Windows type-check stage ----------------------------------
WINDOWS_TARGET=x86_64-pc-windows-gnu
if [ "$MODE" = test ]; then
  if rustc --print sysroot >/dev/null 2>&1 &&
    [ -d "$(rustc --print sysroot)/lib/rustlib/$WINDOWS_TARGET" ]; then
    log "Rust target $WINDOWS_TARGET present"
  else
    command -v rustup >/dev/null 2>&1 || die "the Rust target $WINDOWS_TARGET is missing and rustup is not installed to add it"
    log "rustup target add $WINDOWS_TARGET"
    rustup target add "$WINDOWS_TARGET"
  fi
fi

# --- tauri-driver (test): the WebDriver server the app's end-to-end tests talk to ----------
if [ "$MODE" = test ]; then
  cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
  if command -v tauri-driver >/dev/null 2>&1 || [ -x "$cargo_bin/tauri-driver" ]; then
    log "tauri-driver present"
  else
    log "cargo install tauri-driver (about a minute)"
    cargo install tauri-driver --version '^2' --locked --quiet
  fi
fi

# --- cargo-deb (test): the server's .deb in the install test --------------------------------
if [ "$MODE" = test ]; then
  if cargo deb --version >/dev/null 2>&1; then
    log "cargo-deb present"
  else
    # Pinned: packaging/build-packages.sh --debug relies on this version packaging a dev build.
    log "cargo install cargo-deb (a few minutes)"
    cargo install cargo-deb --version '=3.8.0' --locked --quiet
  fi
fi

# --- npm packages ----------------------------------------------------------------------------
for project in "${NODE_PROJECTS[@]}"; do
  dir="$ROOT/$project"
  if [ ! -f "$dir/package.json" ]; then
    log "$project: no package.json, skipped"
    continue
  fi
  if [ -f "$dir/package-lock.json" ]; then
    if [ -f "$dir/node_modules/.package-lock.json" ] &&
      [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
      log "$project: npm packages up to date"
      continue
    fi
    log "$project: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    log "$project: npm install (no package-lock.json)"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
done

log "done ($MODE)"
