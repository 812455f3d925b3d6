#!/usr/bin/env bash
# Prepares the host for brain's code sandbox. Idempotent: safe to run again after upgrades.
# - creates the unprivileged system user the sandboxed code runs as when brain runs as root
#   (default brain-sandbox; firejail refuses `nobody`), with no home, no shell and no password;
# - lists it in /etc/firejail/firejail.users when that file exists (firejail then only lets
#   listed users start sandboxes).
# Usage: sudo scripts/setup-sandbox.sh [USER]   (or BRAIN_SANDBOX_USER=... scripts/setup-sandbox.sh)
set -euo pipefail

user="${1:-${BRAIN_SANDBOX_USER:-brain-sandbox}}"
if ! [[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]]; then
  echo "setup-sandbox: \"$user\" is not a valid user name" >&2
  exit 2
fi
if [ "$user" = "nobody" ] || [ "$user" = "root" ]; then
  echo "setup-sandbox: firejail cannot run sandboxes as $user; choose another name" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  # brain running as a normal user sandboxes code as that same user: nothing to create. A root
  # install needs this script run with sudo.
  echo "setup-sandbox: not root: nothing to do for brain running as $(id -un) (run with sudo for a root install)"
  exit 0
fi

# firejail mounts each project's workspace over the user's home, so the home must exist and
# belong to the user (firejail checks); it stays empty on the host.
home="/var/lib/$user"
if id -u "$user" >/dev/null 2>&1; then
  echo "setup-sandbox: user $user exists"
  current_home="$(getent passwd "$user" | cut -d: -f6)"
  if [ ! -d "$current_home" ]; then
    usermod --home "$home" "$user"
    echo "setup-sandbox: home of $user set to $home"
  else
    home="$current_home"
  fi
else
  nologin="$(command -v nologin || echo /usr/sbin/nologin)"
  useradd --system --user-group --no-create-home --home-dir "$home" --shell "$nologin" "$user"
  echo "setup-sandbox: created system user $user"
fi
mkdir -p "$home"
chown "$user:$user" "$home"
chmod 0700 "$home"
passwd -l "$user" >/dev/null 2>&1 || true

users_file=/etc/firejail/firejail.users
if [ -f "$users_file" ]; then
  if grep -qx "$user" "$users_file"; then
    echo "setup-sandbox: $user already in $users_file"
  else
    echo "$user" >>"$users_file"
    echo "setup-sandbox: added $user to $users_file"
  fi
fi

# As root, each project's workspace is an ext4 filesystem on a loop device (the quota the kernel
# holds); without these brain only checks the quota while code runs (brain doctor says which).
for tool in mkfs.ext4 losetup nsenter unshare setpriv; do
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null; then
    echo "setup-sandbox: $tool is missing: apt-get install e2fsprogs util-linux" >&2
  fi
done
if [ ! -e /dev/loop-control ]; then
  echo "setup-sandbox: no loop devices (/dev/loop-control): workspace quotas will only be checked, not enforced by the kernel" >&2
fi

if ! command -v firejail >/dev/null; then
  echo "setup-sandbox: firejail is not installed: apt-get install firejail" >&2
  exit 1
fi
echo "setup-sandbox: ready (check with: brain doctor)"
