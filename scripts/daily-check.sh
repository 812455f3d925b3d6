#!/bin/sh
# Morning health check. Prints a short report; exits 1 if anything needs a person:
# the database fails its integrity check, /health is not 200 (when BRAIN_METRICS_PORT is set),
# or the newest backup is older than BRAIN_BACKUP_MAX_AGE_HOURS (default 48).
set -u
. "$(dirname "$0")/brain-cli.sh"
status=0
echo "=== brain daily check: $(date -u '+%Y-%m-%d %H:%M:%S UTC') ==="

echo "--- service"
if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files brain.service >/dev/null 2>&1; then
  systemctl is-active brain.service || true
else
  if brain connect --check 2>/dev/null; then echo "brain serve answers on its socket"; else echo "no brain serve running (embedded mode only)"; fi
fi

echo "--- database"
if report=$(brain check --json); then
  echo "$report" | grep -E '"(integrity|bytes|memories|events)"' | tr -d ' ,"'
else
  echo "$report"
  echo "FAIL: database integrity check failed; restore the newest backup (scripts/restore.sh)"
  status=1
fi

if [ -n "${BRAIN_METRICS_PORT:-}" ] && [ "${BRAIN_METRICS_PORT}" != 0 ]; then
  echo "--- health"
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://${BRAIN_METRICS_HOST:-127.0.0.1}:${BRAIN_METRICS_PORT}/health" || true)
  echo "GET /health: $code"
  if [ "$code" != 200 ]; then echo "FAIL: /health is not 200"; status=1; fi
fi

echo "--- backups"
dir=${BRAIN_BACKUP_PATH:-${XDG_DATA_HOME:-$HOME/.local/share}/brain/backups}
newest=$(ls -1 "$dir"/brain_*.db "$dir"/brain_*.db.gz 2>/dev/null | sort | tail -n 1)
if [ -z "$newest" ]; then
  echo "FAIL: no backup in $dir (run scripts/backup.sh)"
  status=1
else
  age_h=$(( ( $(date +%s) - $(stat -c %Y "$newest") ) / 3600 ))
  echo "newest: $newest (${age_h} h old)"
  if [ "$age_h" -ge "${BRAIN_BACKUP_MAX_AGE_HOURS:-48}" ]; then echo "FAIL: newest backup is older than ${BRAIN_BACKUP_MAX_AGE_HOURS:-48} h"; status=1; fi
fi

echo "--- recent errors"
log=${BRAIN_LOG_PATH:-${XDG_STATE_HOME:-$HOME/.local/state}/brain/logs}/error.log
if [ -f "$log" ]; then echo "error.log lines: $(wc -l < "$log")"; else echo "no error.log"; fi

[ "$status" -eq 0 ] && echo "=== ok" || echo "=== needs attention"
exit "$status"
