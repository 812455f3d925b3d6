#!/usr/bin/env bash
# Install brain from this checkout on Debian/Ubuntu: system packages, npm dependencies, build,
# and a `brain` command on the PATH. Safe to run again.
# --service: then install it as the system service as well (scripts/install-service.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

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

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "brain install: Node.js $(node -v) is too old; brain needs Node 20 or newer." >&2
  echo "  Debian 12 / Ubuntu 22.04-24.04 ship an older Node: install Node 20+ from NodeSource or nvm, then run this again." >&2
  exit 1
fi

npm ci --no-audit --no-fund
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
if [ "${1:-}" = "--service" ]; then exec scripts/install-service.sh; fi
