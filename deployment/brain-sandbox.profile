# firejail profile for code run by brain's `execute` tool. brain passes it with --profile= and adds
# what depends on the configuration on the command line: the workspace (--private=), the hidden
# brain paths (--blacklist=), rlimits, and the environment (--env=).
# Test it by hand: firejail --profile=deployment/brain-sandbox.profile --private=/tmp/ws python3 -c 'print(1)'

quiet

# Network: a new network namespace with only loopback (nothing of the host's).
net none
dbus-user none
dbus-system none

# Filesystem: private /tmp and /dev, a minimal /etc (what Python and matplotlib need; fonts is
# fontconfig's configuration, without which every plot prints "Fontconfig error" to stderr), no mounts.
# No "hostname": the system service runs with ProtectHostname=, under which sethostname fails and
# firejail with it; the host's name is in /etc/hostname anyway.
private-tmp
private-dev
private-etc alternatives,fonts,group,hostname,hosts,ld.so.cache,ld.so.conf,localtime,matplotlibrc,passwd,python3
disable-mnt
# No /var/log at all, rather than firejail's skeleton copy of it: building that copy makes a setgid
# /var/log/journal, which the system service's RestrictSUIDSGID= refuses.
writable-var-log
blacklist /var/log
blacklist /run/user

# Privileges: seccomp, no capabilities, setuid binaries ineffective, no root user at all.
seccomp
caps.drop all
nonewprivs
noroot
nogroups

# Devices nobody's code needs.
nosound
no3d
novideo
nou2f

# Sandboxed code yields the CPU to the server (and everything else) under contention.
nice 10

# Exit with the program's status.
deterministic-exit-code
