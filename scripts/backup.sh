#!/bin/sh
# Online backup of the brain database: safe while brain serve runs and other processes write,
# verified with PRAGMA integrity_check before it counts, gzipped (the gzip read back and compared),
# thinned by BRAIN_BACKUP_KEEP* and BRAIN_BACKUP_DELETE_AFTER_DAYS, then handed to BRAIN_BACKUP_HOOK.
# Usage: scripts/backup.sh [DIR]        (default DIR: BRAIN_BACKUP_PATH); prints the report as JSON
# Exit code 1 when the backup or the off-site hook failed. brain serve does this on its own every
# BRAIN_BACKUP_INTERVAL_MIN (15).
set -eu
. "$(dirname "$0")/brain-cli.sh"
brain backup --json "$@"
