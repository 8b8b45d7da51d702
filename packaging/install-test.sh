#!/usr/bin/env bash
# The install test: Parley's two Debian packages installed into a clean Debian system, then
# run there. Proves that what the packages declare (Depends, maintainer scripts, the service's
# user, directories and unit) is what they need, on a system that has nothing else.
#
#   packaging/install-test.sh [--debug] [--no-build]
#
# 1. packaging/build-packages.sh: the release packages in target/packages/, or with --debug
#    (what ./test.sh runs) the same packages around the debug binaries the test command built, in
#    target/packages-debug/; --no-build uses the packages already there.
# 2. A minimal Debian bookworm (mmdebstrap --variant=minbase from the Debian package registry),
#    kept as target/install-test/debian-bookworm-minbase.tar.gz so later runs only unpack it;
#    the .debs apt downloads are kept in target/install-test/apt-archives.
# 3. In that root (chroot), `apt-get install --no-install-recommends` of both packages: only
#    their Depends come along. No library may be missing, the parley user, /var/lib/parley, the
#    unit, the configuration file, the desktop entry and the sysctl file must be in place, and
#    this machine's kernel settings untouched (the app's postinst ran in a chroot).
# 4. The app, started as an ordinary user on an Xvfb display, must draw its first screen: its
#    log says the page's code drew it, and the screenshot (target/install-test/app-window.png)
#    must hold text, not one flat colour.
# 5. Then systemd (a server's init) is added and the root boots in systemd-nspawn: the unit the
#    package enabled must start parley-signal as the parley user, /healthz must answer over
#    HTTPS (a self-signed certificate in /var/lib/parley/tls), and `systemctl reload` must make
#    it read the certificate again without a restart.
# Root only (mmdebstrap, chroot, mounts, nspawn). Uses what `scripts/setup.sh test` installs
# (mmdebstrap, systemd-container, Xvfb, ImageMagick, curl, cargo-deb).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
WORK="$ROOT/target/install-test"
BASE_TARBALL="$WORK/debian-$SUITE-minbase.tar.gz"
ARCHIVES="$WORK/apt-archives"
CHROOT="$WORK/root"
SHOT="$WORK/app-window.png"
# The display and the port must be free on this machine; the root shares its network.
DISPLAY_NUM="${INSTALL_TEST_DISPLAY:-97}"
PORT="${INSTALL_TEST_PORT:-17890}"

log() { printf 'install-test: %s\n' "$*" >&2; }
die() { printf 'install-test: FAILED: %s\n' "$*" >&2; exit 1; }

BUILD=1
BUILD_ARGS=()
PACKAGES="$ROOT/target/packages"
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --debug) BUILD_ARGS=(--debug) PACKAGES="$ROOT/target/packages-debug" ;;
    *) echo "usage: $0 [--debug] [--no-build]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot, mounts and systemd-nspawn): run it as root, as CI does"
for tool in mmdebstrap systemd-nspawn nsenter Xvfb import convert curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: run scripts/setup.sh test"
done

started=$SECONDS
if [ "$BUILD" -eq 1 ]; then
  packaging/build-packages.sh "${BUILD_ARGS[@]}" >/dev/null
fi
app_deb="$(ls "$PACKAGES"/Parley_*_amd64.deb 2>/dev/null | head -n1)"
signal_deb="$(ls "$PACKAGES"/parley-signal_*_amd64.deb 2>/dev/null | head -n1)"
[ -n "$app_deb" ] && [ -n "$signal_deb" ] || die "no packages in $PACKAGES: run packaging/build-packages.sh"
log "packages: $(basename "$app_deb"), $(basename "$signal_deb") ($((SECONDS - started)) s)"

# --- everything started here is stopped and unmounted on the way out --------------------------
pids=()
mounts=()
stop_pids() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
# Whatever still runs inside the root (WebKit's helper processes, the booted system).
stop_root_processes() {
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$CHROOT" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
}
unmount_all() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[$i]}" 2>/dev/null || umount -l "${mounts[$i]}" 2>/dev/null || true
  done
  mounts=()
}
cleanup() {
  stop_pids
  if [ -d "$CHROOT" ]; then stop_root_processes; fi
  unmount_all
  # The root is unpacked anew each run: not kept.
  if ! grep -q " $CHROOT/" /proc/mounts; then rm -rf "$CHROOT"; fi
}
trap cleanup EXIT
mount_in() { # mount_in TARGET MOUNT-ARGS...: mounted under the root, undone on the way out
  local target="$CHROOT$1"
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounts+=("$target")
}
in_root() { chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# --- a clean Debian ------------------------------------------------------------------------------
mkdir -p "$WORK" "$ARCHIVES"
if [ ! -f "$BASE_TARBALL" ]; then
  t=$SECONDS
  log "mmdebstrap --variant=minbase $SUITE (first run only)"
  # mmdebstrap rather than debootstrap: it installs through apt, in 20 s instead of 3 minutes.
  mmdebstrap --variant=minbase "$SUITE" "$BASE_TARBALL.tmp.tar.gz" "$MIRROR" >"$WORK/mmdebstrap.log" 2>&1 ||
    die "mmdebstrap failed: see $WORK/mmdebstrap.log"
  mv "$BASE_TARBALL.tmp.tar.gz" "$BASE_TARBALL"
  log "base system cached: $(du -h "$BASE_TARBALL" | cut -f1) ($((SECONDS - t)) s)"
fi
rm -rf "$CHROOT"
mkdir -p "$CHROOT"
tar -C "$CHROOT" -xzf "$BASE_TARBALL"

mount_in /proc -t proc proc
mount_in /sys -t sysfs sysfs
mount_in /dev --bind /dev
mount_in /dev/pts --bind /dev/pts
mount_in /dev/shm -t tmpfs -o mode=1777 tmpfs
mount_in /var/cache/apt/archives --bind "$ARCHIVES"
# The display's socket: Xvfb runs outside, on this machine.
mkdir -p /tmp/.X11-unix
chmod 1777 /tmp/.X11-unix
mount_in /tmp/.X11-unix --bind /tmp/.X11-unix
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
cat >"$CHROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SOURCES
mkdir -p "$CHROOT/tmp/packages"
cp "$app_deb" "$signal_deb" "$CHROOT/tmp/packages/"

# --- install: the packages and what they declare, nothing else ---------------------------------
t=$SECONDS
# The app's postinst raises the UDP buffer caps on a running system; from a chroot it must not
# touch this machine's kernel.
rmem_before="$(cat /proc/sys/net/core/rmem_max)"
log "apt-get install --no-install-recommends $(basename "$signal_deb") $(basename "$app_deb")"
in_root apt-get update -qq >"$WORK/apt.log" 2>&1 || die "apt-get update failed: see $WORK/apt.log"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "/tmp/packages/$(basename "$signal_deb")" "/tmp/packages/$(basename "$app_deb")" \
  >>"$WORK/apt.log" 2>&1 || die "apt-get install failed: see $WORK/apt.log"
log "installed, with $(grep -c '^Setting up' "$WORK/apt.log") packages in all ($((SECONDS - t)) s)"

for binary in /usr/bin/parley /usr/bin/parley-signal; do
  missing="$(in_root ldd "$binary" | grep 'not found' || true)"
  [ -z "$missing" ] || die "$binary: shared libraries missing: $missing"
done
in_root id parley >/dev/null || die "no parley user"
owner="$(in_root stat -c %U:%G:%a /var/lib/parley)"
[ "$owner" = parley:parley:750 ] || die "/var/lib/parley is $owner, not parley:parley:750"
unit="$(in_root dpkg -L parley-signal | grep '/systemd/system/parley-signal.service$')" ||
  die "no systemd unit in parley-signal"
in_root dpkg-query -W -f='${Conffiles}\n' parley-signal | grep -q /etc/default/parley-signal ||
  die "/etc/default/parley-signal is not a conffile"
in_root test -f /usr/share/applications/Parley.desktop || die "no desktop entry"
in_root grep -q '^net.core.rmem_max = 8388608$' /usr/lib/sysctl.d/60-parley.conf ||
  die "no UDP buffer caps in /usr/lib/sysctl.d/60-parley.conf"
[ "$(cat /proc/sys/net/core/rmem_max)" = "$rmem_before" ] ||
  die "installing into the chroot changed this machine's net.core.rmem_max"
log "in place: the parley user, /var/lib/parley ($owner), $unit, /etc/default/parley-signal, /usr/lib/sysctl.d/60-parley.conf"

# --- the app, as a person would start it -------------------------------------------------------
[ ! -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] || die "display :$DISPLAY_NUM is taken (INSTALL_TEST_DISPLAY=N picks another)"
Xvfb ":$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] && break; sleep 0.1; done
in_root useradd --create-home --shell /bin/sh person
in_root setpriv --reuid=person --regid=person --init-groups \
  env HOME=/home/person USER=person DISPLAY=":$DISPLAY_NUM" XDG_RUNTIME_DIR=/tmp/person-runtime \
  sh -c 'mkdir -m 700 -p "$XDG_RUNTIME_DIR" && exec /usr/bin/parley' >"$WORK/app.log" 2>&1 &
app_pid=$!
pids+=($app_pid)
# The page's code reports its first screen (the start-up or sign-in screen) drawn: "first screen"
# in the log. Then the screenshot must show it: its text makes dozens of colours, an empty or
# blank window one or two.
drawn=0
colours=0
for _ in $(seq 1 120); do
  sleep 0.5
  kill -0 "$app_pid" 2>/dev/null || die "the app exited: see $WORK/app.log"
  grep -q 'first screen' "$WORK/app.log" || continue
  sleep 0.5
  import -display ":$DISPLAY_NUM" -window root "$SHOT" 2>/dev/null || continue
  colours="$(convert "$SHOT" -format %k info:)"
  if [ "$colours" -ge 64 ]; then drawn=1; break; fi
done
[ "$drawn" -eq 1 ] || die "no first screen drawn within 60 s (screenshot $SHOT: $colours colours; see $WORK/app.log)"
caps="$(grep -o 'MediaCaps {[^}]*}' "$WORK/app.log" | head -n1 || true)"
log "the app drew its first screen: $colours colours in $SHOT; webview: ${caps:-no media report}"
stop_pids
stop_root_processes
unmount_all

# --- the server, under systemd -----------------------------------------------------------------
t=$SECONDS
log "apt-get install systemd-sysv; boot the root with systemd-nspawn"
mount_in /var/cache/apt/archives --bind "$ARCHIVES"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd-sysv \
  >>"$WORK/apt.log" 2>&1 || die "apt-get install systemd-sysv failed: see $WORK/apt.log"
unmount_all
# The test's port (the root shares this machine's network) and a self-signed certificate.
cat >>"$CHROOT/etc/default/parley-signal" <<CONFIG
PARLEY_LISTEN=127.0.0.1:$PORT
PARLEY_TLS_SELF_SIGNED=/var/lib/parley/tls
CONFIG
systemd-nspawn -D "$CHROOT" --register=no --keep-unit --boot --quiet >"$WORK/boot.log" 2>&1 &
nspawn_pid=$!
pids+=($nspawn_pid)
healthy=0
for _ in $(seq 1 300); do
  if curl -kfsS "https://127.0.0.1:$PORT/healthz" >"$WORK/healthz.txt" 2>/dev/null; then healthy=1; break; fi
  kill -0 "$nspawn_pid" 2>/dev/null || die "the root did not boot: see $WORK/boot.log"
  sleep 0.2
done
leader="$(cat /proc/"$nspawn_pid"/task/*/children 2>/dev/null | awk '{print $1; exit}')"
[ -n "$leader" ] || die "cannot find the booted root's init (see $WORK/boot.log)"
in_booted() { nsenter -t "$leader" -m -u -i -n -p -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
if [ "$healthy" -ne 1 ]; then
  in_booted systemctl status parley-signal --no-pager >"$WORK/signal.log" 2>&1 || true
  in_booted journalctl -u parley-signal --no-pager >>"$WORK/signal.log" 2>&1 || true
  die "parley-signal did not answer https://127.0.0.1:$PORT/healthz: see $WORK/signal.log"
fi
log "/healthz over HTTPS: $(head -c 200 "$WORK/healthz.txt") ($((SECONDS - t)) s)"
main_pid="$(in_booted systemctl show -p MainPID --value parley-signal)"
uid="$(in_booted awk '/^Uid:/ {print $2}' "/proc/$main_pid/status")"
[ "$uid" = "$(in_booted id -u parley)" ] || die "parley-signal runs as uid $uid, not as parley"
[ -s "$CHROOT/var/lib/parley/parley-signal.db" ] || die "no database in /var/lib/parley"
[ -s "$CHROOT/var/lib/parley/tls/cert.pem" ] || die "no certificate in /var/lib/parley/tls"
in_booted systemctl reload parley-signal || die "systemctl reload parley-signal failed"
reloaded=0
for _ in $(seq 1 50); do
  if in_booted journalctl -u parley-signal --no-pager 2>/dev/null | grep -q 'certificate reloaded on SIGHUP'; then
    reloaded=1
    break
  fi
  sleep 0.1
done
[ "$reloaded" -eq 1 ] || die "no 'certificate reloaded on SIGHUP' in the journal after systemctl reload"
[ "$(in_booted systemctl show -p MainPID --value parley-signal)" = "$main_pid" ] ||
  die "systemctl reload restarted the server instead of reloading it"
curl -kfsS "https://127.0.0.1:$PORT/healthz" >/dev/null || die "/healthz stopped answering after the reload"
log "runs as parley, data in /var/lib/parley, reload read the certificate again (pid kept)"
in_booted systemd-analyze security parley-signal.service --no-pager >"$WORK/security.txt" 2>&1 || true
log "systemd-analyze security: $(tail -n1 "$WORK/security.txt")"
in_booted systemctl poweroff || true
for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done

log "passed ($((SECONDS - started)) s)"
