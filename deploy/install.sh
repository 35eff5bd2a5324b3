#!/bin/sh
# Installs (or upgrades) b1-backflush as the systemd service b1-backflush@COMPANY on Debian/Ubuntu.
#
#   sudo deploy/install.sh COMPANY [PACKAGE]         (from a checkout)
#   sudo DIR/install.sh COMPANY WHEEL                (from the recipe `b1-backflush deploy systemd DIR` wrote)
#
# COMPANY  names the instance: settings /etc/b1-backflush/COMPANY.env, ledger /var/lib/b1-backflush/COMPANY/
#          (lower-case letters, digits, '-' and '_').
# PACKAGE  what pip installs into /opt/b1-backflush: a wheel, or a checkout folder (default: the
#          checkout this script is in; a recipe written from the wheel has none, so name the wheel).
#          pip's own settings apply (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX for an offline
#          install from a folder of wheels).
#
# Run again for each further company, or with a newer PACKAGE to upgrade: settings and ledgers stay.
# Nothing is started: edit the settings first, then `systemctl start b1-backflush@COMPANY`.
#
# ROOT=/some/dir installs into that tree instead of / (image builds, the test suite): the same steps,
# offline (`systemd-sysusers --root`, `systemctl --root`).
set -eu

usage="usage: install.sh COMPANY [PACKAGE]"
company=${1:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${2:-}" ]; then
  package=$2
elif [ -f "$here/../pyproject.toml" ]; then
  package=$(dirname "$here")
else
  echo "install.sh: name the wheel to install, e.g. install.sh $company ./b1_backflush-<version>-py3-none-any.whl" >&2
  exit 2
fi
# The settings every instance starts from: env.example beside this script (the recipe from the wheel),
# else the checkout's .env.example.
example=$here/env.example
[ -f "$example" ] || example=$here/../.env.example
root=${ROOT:-}

case $company in
  *[!a-z0-9_-]*) echo "install.sh: COMPANY '$company' may hold only a-z, 0-9, '-' and '_' ($usage)" >&2; exit 2 ;;
esac
if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
  echo "install.sh: python3 with venv is missing: apt-get install -y python3-venv" >&2
  exit 2
fi

# 1. The service user (systemd-sysusers: the same on the machine and in an image root).
install -D -m 0644 "$here/b1-backflush.sysusers" "$root/etc/sysusers.d/b1-backflush.conf"
if [ -n "$root" ]; then systemd-sysusers --root="$root"; else systemd-sysusers; fi
gid=$(awk -F: '$1 == "b1-backflush" { print $3 }' "$root/etc/group")

# 2. The program, in its own virtual environment.
[ -x "$root/opt/b1-backflush/bin/python" ] || python3 -m venv "$root/opt/b1-backflush"
"$root/opt/b1-backflush/bin/python" -m pip install --quiet --upgrade "$package"

# 3. Settings: /etc/b1-backflush readable by the service's group only; COMPANY.env (the SAP password)
#    by root only — systemd reads it for the service. An existing file is never overwritten.
install -d -m 0750 -o 0 -g "$gid" "$root/etc/b1-backflush"
env_file="$root/etc/b1-backflush/$company.env"
if [ ! -e "$env_file" ]; then
  umask 077
  sed -e "s|^B1_LEDGER_PATH=.*|B1_LEDGER_PATH=/var/lib/b1-backflush/$company/ledger.sqlite3|" \
    "$example" > "$env_file"
  chmod 0600 "$env_file"
fi

# 4. The unit, enabled at boot (started by hand once the settings are filled in).
install -D -m 0644 "$here/b1-backflush@.service" "$root/etc/systemd/system/b1-backflush@.service"
if [ -n "$root" ]; then
  systemctl --root="$root" --quiet enable "b1-backflush@$company.service"
else
  systemctl daemon-reload
  systemctl --quiet enable "b1-backflush@$company.service"
fi

echo "Installed b1-backflush@$company. Next:"
echo "  1. edit $env_file (B1_SL_URL, B1_COMPANY_DB, B1_USERNAME, B1_PASSWORD, B1_MAPPING ...)"
echo "  2. systemctl start b1-backflush@$company && journalctl -u b1-backflush@$company -f"
