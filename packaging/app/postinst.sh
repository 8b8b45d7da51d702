#!/bin/sh
# Parley's package: apply 60-parley.conf (/usr/lib/sysctl.d/) now instead of at the next boot,
# and never lower a cap that is already higher. Only on the running system: from a chroot
# (an installer, a build or install test) /proc/sys is the host's kernel, not the system
# being installed, so there it waits for that system's next boot (`ischroot` is Debian's;
# without it, too).
want=8388608
if command -v ischroot >/dev/null 2>&1; then
  status=0
  ischroot || status=$?
  if [ "$status" -eq 1 ]; then
    for key in rmem_max wmem_max; do
      file="/proc/sys/net/core/$key"
      if [ -w "$file" ] && [ "$(cat "$file")" -lt "$want" ]; then
        echo "$want" >"$file" 2>/dev/null || true
      fi
    done
  fi
fi
exit 0
