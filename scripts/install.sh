#!/usr/bin/env bash
# Install brain from this folder (a clone or an unpacked release) on Debian/Ubuntu: system
# packages, npm dependencies, build, and a `brain` command on the PATH. Safe to run again.
#   --dev      also the programs the test suite runs besides brain (`npm test` needs them)
#   --service  then install it as the system service as well (scripts/install-service.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
service=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --service) service=1 ;;
    *) echo "brain install: unknown option $arg (use --dev and/or --service)" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

pkgs=(python3 make g++ sqlite3 firejail)
command -v node >/dev/null || pkgs+=(nodejs npm)
echo "brain install: apt-get install ${pkgs[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
# numpy, pandas and matplotlib for code run by `execute` (optional, from Debian's packages).
$SUDO apt-get install -y -qq --no-install-recommends python3-numpy python3-pandas python3-matplotlib || \
  echo "brain install: the Python scientific packages could not be installed; execute still works without them"

if [ "$dev" -eq 1 ]; then
  # What tests run besides brain: promtool (the alert rules and /metrics), systemd-analyze and
  # systemd-run (the unit file), systemd-nspawn (a container booting systemd, to run the sandbox
  # suites under the unit where PID 1 is not systemd), zsh (completion), script (a terminal). Keep
  # in step with requireTool() in the tests (test/install.test.ts checks).
  dev_pkgs=(prometheus systemd systemd-container zsh bsdutils)
  had_prometheus=0
  dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "ok installed" && had_prometheus=1
  echo "brain install: apt-get install ${dev_pkgs[*]} (test prerequisites)"
  $SUDO apt-get install -y -qq --no-install-recommends "${dev_pkgs[@]}"
  # Only promtool is wanted from the prometheus package: a server it started would listen on :9090.
  if [ "$had_prometheus" -eq 0 ] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "brain install: Node.js $(node -v) is too old; brain needs Node 20 or newer." >&2
  echo "  Debian 12 / Ubuntu 22.04-24.04 ship an older Node: install Node 20+ from NodeSource or nvm, then run this again." >&2
  exit 1
fi

# npm ci starts from nothing (better-sqlite3 compiles again, about two minutes): skip it when the
# installed dependencies already match the lock file and the database driver loads.
if [ node_modules/.package-lock.json -nt package-lock.json ] && [ node_modules/.package-lock.json -nt package.json ] &&
  node -e 'new (require("better-sqlite3"))(":memory:").close()' 2>/dev/null; then
  echo "brain install: npm dependencies are up to date"
else
  npm ci --no-audit --no-fund
fi
npm run build
chmod +x dist/src/cli.js

if [ "$(id -u)" -eq 0 ]; then bindir=/usr/local/bin; else bindir="$HOME/.local/bin"; fi
mkdir -p "$bindir"
ln -sf "$PWD/dist/src/cli.js" "$bindir/brain"
echo "brain install: linked $bindir/brain"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "brain install: add $bindir to your PATH";; esac
# brain running as root sandboxes code as an unprivileged user: create it (idempotent).
if [ "$(id -u)" -eq 0 ]; then scripts/setup-sandbox.sh; fi
"$bindir/brain" doctor || true

# --service: the system service, from the build above (a separate script: see its header).
if [ "$service" -eq 1 ]; then exec scripts/install-service.sh; fi
