#!/bin/sh
# What Claude's MCP config points at. Talks to the brain daemon (brain serve) through
# `brain connect` when its socket answers; otherwise runs brain embedded on stdin/stdout.
# stdout is the MCP channel: nothing here may print to it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cli="$here/../dist/src/cli.js"
node_bin=${NODE:-$(command -v node || echo /usr/bin/node)}

brain() {
  if [ -f "$cli" ]; then "$node_bin" "$cli" "$@"; else command brain "$@"; fi
}

data_dir=${XDG_DATA_HOME:-${HOME:-/nonexistent}/.local/share}/brain
socket=${BRAIN_SOCKET_PATH:-${XDG_RUNTIME_DIR:-$data_dir}/brain.sock}

# No socket file: no daemon, and no reason to pay for a probe.
if [ -S "$socket" ] && brain connect --check 2>/dev/null; then
  if [ -f "$cli" ]; then exec "$node_bin" "$cli" connect; else exec brain connect; fi
fi
if [ -f "$cli" ]; then exec "$node_bin" "$cli" stdio; else exec brain stdio; fi
