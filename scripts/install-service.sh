#!/usr/bin/env bash
# Installs this built checkout as the system service (deployment/brain.service), end to end and
# idempotent: the release in /opt/brain (read-only code, production dependencies only), a node the
# unit can reach in /opt/brain/node (the one running this script, so an nvm node in a home
# directory works even though the unit hides homes), the brain group, the sandbox user, the
# environment file (kept when it exists), the unit, and systemctl enable --now where systemd runs.
# Run by `scripts/install.sh --service` after the build. BRAIN_SERVICE_ROOT=/some/dir installs
# the files under that directory instead of / (for a look, or a test) and creates no users.
set -euo pipefail
cd "$(dirname "$0")/.."

root="${BRAIN_SERVICE_ROOT:-}"
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install-service: run as root (sudo scripts/install.sh --service)" >&2
  exit 1
fi
[ -f dist/src/cli.js ] || { echo "install-service: build first (npm run build)" >&2; exit 1; }
opt="$root/opt/brain"

# The release: what brain needs at run time, copied fresh (an upgrade replaces the code).
mkdir -p "$opt"
for item in dist schema.sql package.json package-lock.json README.md deployment scripts blueprints node_modules; do
  [ -e "$item" ] || continue
  rm -rf "${opt:?}/$item.new"
  cp -a "$(readlink -f "$item")" "$opt/$item.new"
  rm -rf "${opt:?}/$item"
  mv "$opt/$item.new" "$opt/$item"
done
(cd "$opt" && npm prune --omit=dev --no-audit --no-fund >/dev/null)

# A node of its own: the binary that runs this script, whichever install it came from.
node_bin="$(readlink -f "$(command -v node)")"
mkdir -p "$opt/node/bin"
install -m 0755 "$node_bin" "$opt/node/bin/node.new"
mv "$opt/node/bin/node.new" "$opt/node/bin/node"
chown -R root:root "$opt" 2>/dev/null || true
chmod -R go-w "$opt"

if [ -z "$root" ]; then
  getent group brain >/dev/null || groupadd --system brain
  scripts/setup-sandbox.sh
fi

install -d -m 0755 "$root/etc/brain"
if [ ! -e "$root/etc/brain/brain.env" ]; then
  install -m 0640 deployment/brain.env.example "$root/etc/brain/brain.env"
  echo "install-service: wrote /etc/brain/brain.env (edit it, then systemctl restart brain)"
else
  echo "install-service: kept the existing /etc/brain/brain.env"
fi
install -d -m 0755 "$root/etc/systemd/system"
install -m 0644 deployment/brain.service "$root/etc/systemd/system/brain.service"

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now brain
  systemctl restart brain
  # The service gives sandboxes cgroups inside its own now (ProtectControlGroups leaves it no other
  # place): the tree earlier versions kept at the top goes once no brain has a cgroup in it.
  rmdir /sys/fs/cgroup/brain-sandbox 2>/dev/null || true
  echo "install-service: brain is running: systemctl status brain; add yourself to the brain group to reach /run/brain/brain.sock"
  echo "install-service: $(systemd-analyze security brain.service 2>/dev/null | tail -n 1) (README, \"Daemon mode\", says what each remaining point is for)"
else
  echo "install-service: files are in place${root:+ under $root}; systemd is not running here, so nothing was started"
fi
