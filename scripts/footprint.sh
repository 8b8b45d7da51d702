#!/usr/bin/env bash
# Footprint benchmark of the desktop app (not part of ./test.sh).
#
#   scripts/footprint.sh [--no-build] [--baseline BINARY] [--runs N]
#
# Builds the release .deb with the npm Tauri CLI, then starts the release binary N times (default
# 3) under a private Xvfb with a fresh profile each time and prints, per run and as medians:
# - time to first window: from launch until a visible X window of the process exists (xdotool);
# - time to first paint: the app's own log line "first paint ms=N", the page's first contentful
#   paint (Paint Timing, placed on the app's clock; N is milliseconds since the app's main
#   started), and to the first screen ("first screen ms=N": the sign-in screen drawn by the app's
#   code, on the frame after it);
# - idle memory once CPU use has settled: RSS and PSS of the app process and of its WebKit
#   children (WebKitWebProcess, WebKitNetworkProcess), from /proc/PID/smaps_rollup;
# and the .deb's size, against the goals: idle PSS within 30 MiB of an empty Tauri 2 window
# (273 MiB measured on the build machine, see /work/shared/README.md or pass --baseline with an
# empty app's binary to measure it here), first paint under 1 s, .deb under 15 MB.
#
# Needs scripts/setup.sh test (Xvfb, xdotool is optional) and the npm packages of ui/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

BUILD=1
BASELINE=""
RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --baseline) BASELINE="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    *) echo "usage: $0 [--no-build] [--baseline BINARY] [--runs N]" >&2; exit 2 ;;
  esac
  shift
done

GOAL_BASELINE_PSS_MIB=273
GOAL_EXTRA_PSS_MIB=30
GOAL_FIRST_PAINT_MS=1000
GOAL_DEB_BYTES=15000000

target="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ "$BUILD" = 1 ]; then
  echo "footprint: building the release .deb (tauri build --bundles deb)" >&2
  start=$(date +%s)
  TAURI_APP_PATH=src-tauri TAURI_FRONTEND_PATH=ui ui/node_modules/.bin/tauri build --bundles deb >&2
  echo "footprint: built in $(( $(date +%s) - start )) s" >&2
fi
app="$target/release/parley"
deb="$(ls -t "$target"/release/bundle/deb/*.deb 2>/dev/null | head -n1 || true)"
[ -x "$app" ] || { echo "footprint: $app not found (build first, or drop --no-build)" >&2; exit 1; }
[ -n "$deb" ] || { echo "footprint: no .deb under $target/release/bundle/deb" >&2; exit 1; }

have_xdotool=1
command -v xdotool >/dev/null 2>&1 || { have_xdotool=0; echo "footprint: xdotool not installed: no time to first window" >&2; }

work="$(mktemp -d -t parley-footprint-XXXXXX)"
xvfb_pid=""
app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A private display: Xvfb picks a free number and writes it to the file.
Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp >"$work/display" 2>/dev/null &
xvfb_pid=$!
for _ in $(seq 200); do [ -s "$work/display" ] && break; sleep 0.05; done
[ -s "$work/display" ] || { echo "footprint: Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$(head -n1 "$work/display")" NO_AT_BRIDGE=1 NO_COLOR=1

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Total CPU ticks of a process and its descendants.
tree_pids() {
  local pid="$1" child
  echo "$pid"
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do tree_pids "$child"; done
}
cpu_ticks() {
  local total=0 pid fields
  for pid in $(tree_pids "$1"); do
    fields=$(sed 's/.*) //' /proc/"$pid"/stat 2>/dev/null) || continue
    set -- $fields
    total=$(( total + ${12} + ${13} ))
  done
  echo "$total"
}
# "RSS_KB PSS_KB" of one process.
mem_of() {
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' /proc/"$1"/smaps_rollup 2>/dev/null || echo "0 0"
}

# measure BINARY LABEL: one run; prints "window_ms paint_ms rss_kb pss_kb" and a breakdown on stderr.
measure() {
  local bin="$1" label="$2" run_dir port t0 window_ms="" paint_ms="" screen_ms="" line
  run_dir="$(mktemp -d "$work/run-XXXX")"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  t0=$(now_ms)
  env PARLEY_PROFILE="$run_dir/profile" PARLEY_EMBEDDED_DIR="$run_dir/server" PARLEY_EMBEDDED_PORT="$port" \
    PARLEY_KEYRING=memory XDG_DATA_HOME="$run_dir/data" XDG_CACHE_HOME="$run_dir/cache" \
    XDG_CONFIG_HOME="$run_dir/config" RUST_LOG=info "$bin" >"$run_dir/log" 2>&1 &
  app_pid=$!
  # Up to 30 s for the window and the first paint.
  local deadline=$(( t0 + 30000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    kill -0 "$app_pid" 2>/dev/null || { echo "footprint: $label exited; log:" >&2; cat "$run_dir/log" >&2; return 1; }
    if [ -z "$window_ms" ] && [ "$have_xdotool" = 1 ] && xdotool search --onlyvisible --pid "$app_pid" >/dev/null 2>&1; then
      window_ms=$(( $(now_ms) - t0 ))
    fi
    if [ -z "$paint_ms" ]; then
      line=$(grep -m1 'first paint' "$run_dir/log" || true)
      [ -n "$line" ] && paint_ms=$(sed -n 's/.*ms=\([0-9]*\).*/\1/p' <<<"$line")
    fi
    if [ -z "$screen_ms" ]; then
      line=$(grep -m1 'first screen' "$run_dir/log" || true)
      [ -n "$line" ] && screen_ms=$(sed -n 's/.*ms=\([0-9]*\).*/\1/p' <<<"$line")
    fi
    if { [ -n "$window_ms" ] || [ "$have_xdotool" = 0 ]; } && { { [ -n "$paint_ms" ] && [ -n "$screen_ms" ]; } || [ "$label" = baseline ]; }; then break; fi
    sleep 0.01
  done
  # Idle: CPU use of the whole tree below 2 ticks (20 ms) per second, three seconds in a row
  # (at most 30 s), then one more second.
  local calm=0 before after
  before=$(cpu_ticks "$app_pid")
  for _ in $(seq 30); do
    sleep 1
    after=$(cpu_ticks "$app_pid")
    if [ $(( after - before )) -lt 2 ]; then calm=$(( calm + 1 )); else calm=0; fi
    before=$after
    [ "$calm" -ge 3 ] && break
  done
  sleep 1
  local rss=0 pss=0 pid r p name
  for pid in $(tree_pids "$app_pid"); do
    read -r r p <<<"$(mem_of "$pid")"
    name=$(cat /proc/"$pid"/comm 2>/dev/null || echo "?")
    printf '  %-8s %-22s RSS %7.1f MiB  PSS %7.1f MiB\n' "$label" "$name" "$(mib "$r")" "$(mib "$p")" >&2
    rss=$(( rss + r )); pss=$(( pss + p ))
  done
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
  echo "${window_ms:-NA} ${paint_ms:-NA} $rss $pss ${screen_ms:-NA}"
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "NA"; else print a[int((NR+1)/2)]}'; }

run_all() {
  local bin="$1" label="$2" i out
  : >"$work/$label.txt"
  for i in $(seq "$RUNS"); do
    out=$(measure "$bin" "$label")
    echo "  $label run $i: window ${out%% *} ms, first paint $(cut -d' ' -f2 <<<"$out") ms, first screen $(cut -d' ' -f5 <<<"$out") ms, RSS $(( $(cut -d' ' -f3 <<<"$out") / 1024 )) MiB, PSS $(( $(cut -d' ' -f4 <<<"$out") / 1024 )) MiB" >&2
    echo "$out" >>"$work/$label.txt"
  done
}

echo "footprint: $RUNS runs of $app on $DISPLAY" >&2
run_all "$app" app
baseline_pss_mib=$GOAL_BASELINE_PSS_MIB
baseline_note="measured on the build machine (shared/README)"
if [ -n "$BASELINE" ]; then
  run_all "$BASELINE" baseline
  baseline_pss_mib=$(( $(cut -d' ' -f4 "$work/baseline.txt" | grep -v NA | median) / 1024 ))
  baseline_note="measured now: $BASELINE"
fi

window=$(cut -d' ' -f1 "$work/app.txt" | grep -v NA | median)
paint=$(cut -d' ' -f2 "$work/app.txt" | grep -v NA | median)
screen=$(cut -d' ' -f5 "$work/app.txt" | grep -v NA | median)
rss_mib=$(( $(cut -d' ' -f3 "$work/app.txt" | median) / 1024 ))
pss_mib=$(( $(cut -d' ' -f4 "$work/app.txt" | median) / 1024 ))
deb_bytes=$(stat -c %s "$deb")
limit=$(( baseline_pss_mib + GOAL_EXTRA_PSS_MIB ))
verdict() { if [ "$1" = NA ]; then echo "n/a"; elif [ "$1" -le "$2" ]; then echo "ok"; else echo "OVER"; fi; }

echo
echo "Parley footprint (release, median of $RUNS runs, fresh profile, sign-in screen, idle)"
printf '  %-28s %10s   goal %-32s %s\n' "idle PSS (app + WebKit)" "$pss_mib MiB" "<= $limit MiB (empty window $baseline_pss_mib + $GOAL_EXTRA_PSS_MIB)" "$(verdict "$pss_mib" "$limit")"
printf '  %-28s %10s\n' "idle RSS (app + WebKit)" "$rss_mib MiB"
printf '  %-28s %10s\n' "time to first window" "${window} ms"
printf '  %-28s %10s   goal %-32s %s\n' "time to first paint" "${paint} ms" "< $GOAL_FIRST_PAINT_MS ms" "$(verdict "$paint" $(( GOAL_FIRST_PAINT_MS - 1 )))"
printf '  %-28s %10s\n' "time to first screen" "${screen} ms"
printf '  %-28s %10s   goal %-32s %s\n' ".deb size" "$(awk -v b="$deb_bytes" 'BEGIN {printf "%.2f", b / 1000000}') MB" "< 15 MB" "$(verdict "$deb_bytes" $(( GOAL_DEB_BYTES - 1 )))"
echo "  baseline: $baseline_note; .deb: $deb"
