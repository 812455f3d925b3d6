#!/bin/sh
# Database upkeep for a quiet hour: expired data out, WAL checkpoint, ANALYZE, VACUUM, then a full
# integrity check. brain serve runs the same tasks on its own schedule (BRAIN_VACUUM_INTERVAL_HOURS);
# this is for embedded-only installs and for operators who want it now.
set -eu
. "$(dirname "$0")/brain-cli.sh"
brain maintain --json
brain check > /dev/null
echo "db-maintenance: done; integrity_check ok" >&2
