#!/bin/sh
# Checks the installed b1-backflush unit the way systemd reads it:
#   - `systemd-analyze verify` says nothing about it (syntax, known settings, ExecStart exists);
#   - `systemd-analyze security` rates it OK or better (exposure below 5.0).
#
#   deploy/verify-units.sh [ROOT] [COMPANY]
#
# ROOT     the system tree deploy/install.sh installed into (default /, this machine).
# COMPANY  the instance to check (default: the first one enabled, else "example").
set -eu

root=${1:-/}
company=${2:-}
if [ -z "$company" ]; then
  company=$(ls "$root/etc/systemd/system/multi-user.target.wants" 2>/dev/null \
    | sed -n 's/^b1-backflush@\(.*\)\.service$/\1/p' | head -n 1)
  company=${company:-example}
fi
unit="b1-backflush@$company.service"
if ! command -v systemd-analyze >/dev/null; then
  echo "verify-units.sh: systemd-analyze is missing: apt-get install -y systemd" >&2
  exit 2
fi
if [ ! -f "$root/etc/systemd/system/b1-backflush@.service" ]; then
  echo "verify-units.sh: $root/etc/systemd/system/b1-backflush@.service is missing: run deploy/install.sh" >&2
  exit 2
fi

# verify exits 0 on many problems it only warns about ("... ignoring"), so any word about our unit fails.
findings=$(systemd-analyze verify --root="$root" "$unit" 2>&1 || echo "systemd-analyze verify failed")
if [ -n "$findings" ]; then
  echo "verify-units.sh: systemd-analyze verify $unit:" >&2
  echo "$findings" >&2
  exit 1
fi
# --threshold is the exposure × 10: above 49 is MEDIUM or worse.
if ! rating=$(systemd-analyze security --offline=true --root="$root" --threshold=49 "$unit" 2>&1); then
  echo "$rating" | tail -n 1 >&2
  echo "verify-units.sh: $unit is rated worse than OK by systemd-analyze security" >&2
  exit 1
fi
echo "$unit: systemd-analyze verify clean; $(echo "$rating" | tail -n 1 | sed 's/^→ //')"
