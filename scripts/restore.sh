#!/bin/sh
# Replaces the brain database with a backup (a brain_*.db file, or one gzipped as .db.gz), and the
# notes folder with the brain_*.notes.tar.gz made with it when there is one. The backup must pass
# integrity_check first; what it replaces is kept beside it as <name>.replaced-<time>. Stop brain
# serve before restoring (brain restore refuses otherwise). Prints the report as JSON.
# Usage: scripts/restore.sh BACKUP
set -eu
. "$(dirname "$0")/brain-cli.sh"
if [ $# -ne 1 ]; then echo "usage: $0 BACKUP" >&2; exit 2; fi
brain restore --json -- "$1"
brain check > /dev/null
echo "restore: done; integrity_check ok" >&2
