#!/usr/bin/env bash
# Screenshots of the real app window (WebKitGTK under Xvfb, through WebDriver) for the docs:
# runs the end-to-end chat scenario with PARLEY_SCREENSHOTS set, which saves sign-in.png,
# conversation.png, offline.png and search-offline.png.
#
#   scripts/screenshots.sh [DIR]     (default: docs/screenshots)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${1:-docs/screenshots}"
mkdir -p "$dir"
PARLEY_SCREENSHOTS="$(cd "$dir" && pwd)" exec scripts/e2e.sh two_people_chat_restart_and_search_offline
