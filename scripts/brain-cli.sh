# Sourced by the operator scripts: `brain` runs this checkout's build when there is one, else the
# brain on PATH. Configuration comes from the same BRAIN_* variables as the service (see
# deployment/brain.env.example; load it first, e.g. `set -a; . /etc/brain/brain.env; set +a`).
_brain_here=$(cd "$(dirname "$0")" && pwd)
_brain_cli="$_brain_here/../dist/src/cli.js"
_brain_node=${NODE:-$(command -v node || echo /usr/bin/node)}
brain() {
  if [ -f "$_brain_cli" ]; then "$_brain_node" "$_brain_cli" "$@"; else command brain "$@"; fi
}
