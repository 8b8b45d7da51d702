#!/usr/bin/env bash
# Set up and run every test. Runs all stages even when one fails, prints a summary line
# "N passed, N failed" (counting stages) and exits non-zero if any stage failed.
# Non-interactive: suitable for CI (no stdin, CI=true).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$PWD"

# Node projects (paths relative to the repository root) whose `npm test` is a test stage.
# Each must also be listed in NODE_PROJECTS in scripts/setup.sh so its packages get installed.
NODE_TEST_PROJECTS=(tests/peerjs)

export CI=true
# A one-off build gains nothing from incremental state, which would add gigabytes to target/.
export CARGO_INCREMENTAL=0

scripts/setup.sh test </dev/null || { echo "test.sh: set-up failed" >&2; exit 1; }

passed=0
failed=0
failures=()

# stage NAME DIR COMMAND...: run COMMAND in DIR and record the result.
stage() {
  local name="$1" dir="$2"
  shift 2
  printf '\n=== %s\n' "$name"
  if (cd "$ROOT/$dir" && "$@") </dev/null; then
    passed=$((passed + 1))
    printf '=== %s: passed\n' "$name"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '=== %s: FAILED\n' "$name"
  fi
}

# The app's generate_context!() embeds ui/dist, so the UI is built before any cargo stage.
stage "ui build" ui npm run build
stage "rust format" . cargo fmt --all --check
# Workspace lints (Cargo.toml) and clippy's, warnings denied, on every crate and test.
stage "clippy" . cargo clippy --workspace --all-targets -- -D warnings
# Windows kept compiling: the same lint run type-checks every crate and test for Windows
# (x86_64-pc-windows-gnu; mingw-w64 compiles the C parts of dependencies), warnings denied. Left
# out are the two Linux-only harnesses: signal-load (/proc, CPU pinning, prctl) and parley-tests
# (Xvfb, WebDriver, network namespaces). After the Linux clippy, whose build scripts and proc
# macros it reuses: about 5 minutes from cold (3.5 of them building SQLCipher's OpenSSL for
# Windows), seconds when nothing changed; target/x86_64-pc-windows-gnu takes about 400 MB.
stage "clippy (Windows)" . cargo clippy --workspace --exclude parley-signal-bench --exclude parley-tests \
  --all-targets --target x86_64-pc-windows-gnu -- -D warnings
# The app's "This device" server is built without the Redis scale-out.
stage "app without Redis" . sh -c '! cargo tree -p parley -e normal --prefix none | grep -q "^redis "'

# Inside a fresh kernel session keyring, so the tests that keep real tokens in the OS keyring
# (keyutils store, and parley-cli processes that must share a session across restarts) run.
# Includes the check that ui/src/types.ts is what the Rust types generate.
# The app's end-to-end tests need a differently built binary: they get their own stage below.
stage "cargo test" . keyctl session - env PARLEY_TEST_KEYUTILS=1 PARLEY_E2E=0 cargo test --workspace --all-targets
# Builds the app with the UI embedded and drives two instances through WebDriver under Xvfb.
stage "app end-to-end" . scripts/e2e.sh
# Both .debs (the app and parley-signal, built around the debug binaries above) installed into a
# clean Debian made here (mmdebstrap), where the app must draw its window under Xvfb and the
# server run under systemd as its own user and answer /healthz: the packages' declared
# dependencies are the real ones. Root, like the network lab. About a minute.
stage "packages: install on a clean Debian" . packaging/install-test.sh --debug
# The desktop default store, Secret Service, against a real gnome-keyring on a private D-Bus.
stage "keyring: Secret Service" . dbus-run-session -- sh -c \
  'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
   PARLEY_TEST_SECRET_SERVICE=1 exec cargo test -p parley-core --lib secret_service' 
stage "ui typecheck" ui npm run typecheck
stage "ui test" ui npm test
# The UI in Debian's Chromium with Tauri's IPC mocked (ui/tests/browser).
stage "ui in a browser" ui npm run test:browser
for project in "${NODE_TEST_PROJECTS[@]}"; do
  if [ -f "$ROOT/$project/package.json" ]; then
    stage "$project test" "$project" npm test
  else
    printf '\n=== %s test: skipped (no %s/package.json)\n' "$project" "$project"
  fi
done

echo
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
