#!/bin/sh
# Replaces the brain database with a backup (a brain_*.db file, or one gzipped as .db.gz).
# The backup must pass integrity_check first; the database it replaces is kept beside it as
# brain.db.replaced-<time>. Stop brain serve before restoring (brain restore refuses otherwise).
# Usage: scripts/restore.sh BACKUP
set -eu
. "$(dirname "$0")/brain-cli.sh"
if [ $# -ne 1 ]; then echo "usage: $0 BACKUP" >&2; exit 2; fi
src=$1
case "$src" in
  *.gz)
    tmp=$(mktemp "${TMPDIR:-/tmp}/brain-restore.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    gzip -dc "$src" > "$tmp"
    src=$tmp
    ;;
esac
brain restore "$src"
brain check > /dev/null
echo "restore: done; integrity_check ok" >&2
