#!/usr/bin/env bash
# Set up (system packages, npm packages) and run the Parley app.
#
# Runs `tauri dev`: it starts the Vite dev server (beforeDevCommand in tauri.conf.json), builds
# the Rust side in debug mode and opens the window, then reloads the UI on save and rebuilds
# the app when Rust sources change. That is what someone running from a clone wants; a
# packaged build is `TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build`.
# Extra arguments go to `tauri dev` (e.g. `./run.sh --release`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/setup.sh app

# tauri.conf.json lives at the repository root (symlinked from src-tauri/); tell the CLI where
# the Rust project and the frontend are instead of letting it search the tree.
export TAURI_APP_PATH=src-tauri TAURI_FRONTEND_PATH=ui
exec ui/node_modules/.bin/tauri dev "$@"
