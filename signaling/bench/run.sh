#!/usr/bin/env bash
# Load benchmark: parley-signal vs PeerServer (see signaling/bench/README.md).
# Builds parley-signal and signal-load in release mode, installs PeerServer (npm ci) when needed,
# raises the open-file limit, and runs signal-load from the repository root.
#   signaling/bench/run.sh                 # full run, ~3 minutes
#   signaling/bench/run.sh --quick         # smoke run, < 30 s
#   SKIP_SERVER_BUILD=1 signaling/bench/run.sh --targets peerserver
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# Sequential builds: the machine has two cores.
if [ -z "${SKIP_SERVER_BUILD:-}" ]; then
  cargo build --release -p parley-signal
fi
cargo build --release -p parley-signal-bench --bin signal-load

peerserver=signaling/bench/peerserver
if [ ! -f "$peerserver/node_modules/.package-lock.json" ] ||
   [ "$peerserver/package-lock.json" -nt "$peerserver/node_modules/.package-lock.json" ]; then
  (cd "$peerserver" && npm ci --no-audit --no-fund)
fi

# Each side holds one socket per client (19,500 by default).
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

exec target/release/signal-load "$@"
