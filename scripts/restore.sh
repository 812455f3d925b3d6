#!/bin/sh
# Replaces the brain database with a backup (a brain_*.db file, or one gzipped as .db.gz), and the
# notes folder with the brain_*.notes.tar.gz made with it when there is one. The backup must pass
# integrity_check first; what it replaces is kept beside it as <name>.replaced-<time>. Stop brain serve before restoring (brain restore refuses otherwise).
# Usage: scripts/restore.sh BACKUP
set -eu
. "$(dirname "$0")/brain-cli.sh"
if [ $# -ne 1 ]; then echo "usage: $0 BACKUP" >&2; exit 2; fi
src=$1
case "$src" in
  *.gz)
    # Unpack under the original name, so the notes archive made with it is found beside it.
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/brain-restore.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    plain="$tmp/$(basename "${src%.gz}")"
    gzip -dc "$src" > "$plain"
    notes="${src%.db.gz}.notes.tar.gz"
    if [ -f "$notes" ]; then cp "$notes" "$tmp/"; fi
    src=$plain
    ;;
esac
brain restore "$src"
brain check > /dev/null
echo "restore: done; integrity_check ok" >&2
