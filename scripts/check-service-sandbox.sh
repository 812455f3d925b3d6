#!/usr/bin/env bash
# Runs the sandbox attack suites under every sandboxing property of deployment/brain.service, as a
# `systemd-run` unit: proof that the hardened service still lets `execute` hold its guarantees.
# On a host whose PID 1 is systemd it runs them there. Otherwise (a container, most CI) it boots a
# throwaway container of this host's root with systemd-nspawn (--volatile=overlay: whatever the
# container writes is gone when it stops; --private-network: the container gets the network
# capability firejail needs to bring up a sandbox's loopback, and no way onto the host's network)
# and runs them inside, with the checkout bound in.
# Root only (the service runs as root); needs a build (npm run build) and node outside /root and
# /home, which ProtectHome= hides, as it hides a checkout there.
# Usage: sudo scripts/check-service-sandbox.sh [test files, default: the attack and isolation suites]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UNIT="$ROOT/deployment/brain.service"
if [ $# -gt 0 ]; then TESTS=("$@"); else TESTS=(test/sandbox-attacks.test.ts test/sandbox-isolation.test.ts); fi

die() { echo "check-service-sandbox: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run it as root: brain.service runs as root and so must the suites under it"
command -v systemd-run >/dev/null || die "systemd-run is missing: sudo apt-get install systemd"
NODE=$(command -v node) || die "node is not on PATH"
NODE=$(readlink -f "$NODE")
MODULES=$(readlink -f "$ROOT/node_modules")
case "$NODE" in /root/* | /home/* | /run/user/* | /tmp/* | /var/tmp/*) die "$NODE is under a home or temp directory, which the unit's ProtectHome=/PrivateTmp= hide: use a node elsewhere (/usr, /opt)" ;; esac
# Where the unit sees the checkout and its node_modules: here, or in the container (below).
UNIT_ROOT=$ROOT
UNIT_MODULES=$MODULES
[ -f "$ROOT/dist/src/cli.js" ] || die "no build in $ROOT/dist: run npm run build first"

# The unit's [Service] settings but how it starts, stops and restarts (the run replaces those) and
# Group= (the socket's group, not a sandboxing setting, and a group this host may not have). The
# run is a unit of another name, so the paths naming brain.service's own cgroup name the run's.
RUN_UNIT="brain-service-check-$$.service"
PROPS=()
while IFS= read -r line; do PROPS+=(-p "${line//\/brain.service/\/$RUN_UNIT}"); done < <(awk '
  /^\[Service\]/ { s = 1; next }
  /^\[/ { s = 0 }
  s && /^[A-Z][A-Za-z]*=/ {
    key = substr($0, 1, index($0, "=") - 1)
    if (key ~ /^(Type|ExecStart|ExecStartPre|KillSignal|TimeoutStopSec|Restart|RestartSec|WorkingDirectory|Environment|EnvironmentFile|Group)$/) next
    print
  }' "$UNIT")
# What the unit runs before it starts (with full privileges: the "+" prefix), run here the same way.
PRE=$(awk '/^ExecStartPre=/ { sub(/^ExecStartPre=[-+!@:]*/, ""); print }' "$UNIT")

# $@: how to run a command on the systemd host (nothing, or nsenter into the container).
run_suites() {
  if [ -n "$PRE" ]; then "$@" sh -c "$PRE"; fi
  # The isolation suite's upgrade test puts folders in /srv/brain-workspaces (as it does run as root
  # outside the unit), which the unit leaves writable only when it exists at start: a host
  # upgraded from a version that used it. brain removes the folder once no brain uses it.
  "$@" mkdir -p /srv/brain-workspaces
  "$@" systemd-run --unit="$RUN_UNIT" --wait --pipe --quiet --collect "${PROPS[@]}" \
    -p WorkingDirectory="$UNIT_ROOT" -p ReadWritePaths="$UNIT_ROOT" -p ReadWritePaths="$UNIT_MODULES" \
    -p Environment=PATH=/usr/bin:/bin -p Environment=HOME=/tmp -p Environment=CI=1 \
    -- "$NODE" "$UNIT_MODULES/vitest/vitest.mjs" run "${TESTS[@]}"
}

if [ -d /run/systemd/system ]; then
  for p in "$ROOT" "$MODULES"; do
    case "$p" in /root/* | /home/* | /run/user/* | /tmp/* | /var/tmp/*) die "$p is under a home or temp directory, which the unit's ProtectHome=/PrivateTmp= hide: use a checkout elsewhere (/opt, /srv)" ;; esac
  done
  echo "check-service-sandbox: systemd runs this host; ${TESTS[*]} under brain.service's settings" >&2
  run_suites
  exit $?
fi

command -v systemd-nspawn >/dev/null || die "PID 1 here is not systemd, and systemd-nspawn (Debian package systemd-container) to boot a container with it is missing: sudo apt-get install systemd-container"
WORK=$(mktemp -d /tmp/brain-service-check.XXXXXX)
mkdir "$WORK/root"
# The checkout appears in the container under /srv: a clone in /tmp or a home directory would be
# hidden from the unit by its PrivateTmp=/ProtectHome= (the run failed with 226/NAMESPACE).
UNIT_ROOT=/srv/brain-service-check
BINDS=(--bind="$ROOT:$UNIT_ROOT")
case "$MODULES/" in
  "$ROOT"/*) UNIT_MODULES="$UNIT_ROOT${MODULES#"$ROOT"}" ;;
  # node_modules as a symlink elsewhere: there too, and at its own path for the link to resolve.
  *) UNIT_MODULES=/srv/brain-service-check-modules; BINDS+=(--bind="$MODULES:$UNIT_MODULES" --bind="$MODULES") ;;
esac
# The root bind and nspawn's own state stay in a mount namespace of their own: nothing is mounted
# on this host. /run/systemd/nspawn gets a tmpfs because nspawn refuses to clean up in a /run that
# is not one.
unshare --mount --propagation private sh -c '
  mount --bind / "$1/root" && mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn || exit 1
  shift
  exec systemd-nspawn --quiet --directory="$0/root" --volatile=overlay --private-network --register=no --keep-unit \
    --link-journal=no --machine=brain-service-check --console=passive "$@" --boot' "$WORK" "$WORK" "${BINDS[@]}" >"$WORK/console.log" 2>&1 &
NSPAWN=$!
stop_container() {
  kill "$NSPAWN" 2>/dev/null || true
  wait "$NSPAWN" 2>/dev/null || true
  rmdir "$WORK/root" 2>/dev/null || true
  rm -f "$WORK/console.log"
  rmdir "$WORK" 2>/dev/null || true
}
trap stop_container EXIT
LEADER=
for _ in $(seq 120); do
  LEADER=$(ps -o pid= --ppid "$NSPAWN" 2>/dev/null | head -n1 | tr -d ' ' || true)
  if [ -n "$LEADER" ]; then
    case "$(nsenter -t "$LEADER" -a systemctl is-system-running --wait 2>/dev/null)" in running | degraded) break ;; esac
  fi
  kill -0 "$NSPAWN" 2>/dev/null || die "the container did not boot: $(tail -n 5 "$WORK/console.log")"
  LEADER=
  sleep 1
done
[ -n "$LEADER" ] || die "the container did not finish booting within 120 s: $(tail -n 5 "$WORK/console.log")"
echo "check-service-sandbox: PID 1 here is not systemd; ${TESTS[*]} under brain.service's settings in a booted container" >&2
status=0
run_suites nsenter -t "$LEADER" -a || status=$?
exit $status
