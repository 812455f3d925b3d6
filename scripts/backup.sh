#!/bin/sh
# Online backup of the brain database: safe while brain serve runs, verified with
# PRAGMA integrity_check before it counts, and only the newest BRAIN_BACKUP_KEEP are kept.
# Usage: scripts/backup.sh [DIR]        (default DIR: BRAIN_BACKUP_PATH); prints the report as JSON
# brain serve also does this on its own every BRAIN_BACKUP_INTERVAL_HOURS.
set -eu
. "$(dirname "$0")/brain-cli.sh"
brain backup --json "$@"
