#!/bin/bash
# Runs a command with an unpacked Debian root (default /srv/pristine/root) as the ROOT of a
# private mount namespace, like a real machine's "/", for checking the README's commands on a
# pristine Debian 12 (debootstrap --variant=minbase --include=git,ca-certificates bookworm).
# pivot_root rather than chroot: the lab's network namespaces (ip netns exec) need "/" to be a
# mount point, and a chroot shows /proc/PID/exe from another root.
#
# Mount proc, sys, dev (rbind) and a tmpfs on /run and /tmp inside the root first, then, as root
# on the host and holding the lab lock so no other lab run shares 127.0.0.x:25:
#   flock /tmp/smtpx-lab.lock unshare -m scripts/pristine_enter.sh /usr/bin/env -i HOME=/root \
#     PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CI=true \
#     bash -c 'cd /root/smtp_exporter && bash .ci/run'
# Must run inside `unshare -m`: it changes the mount namespace's root.
set -euo pipefail
R=${PRISTINE_ROOT:-/srv/pristine/root}
mount --make-rprivate /
mount --rbind "$R" "$R"
cd "$R"
mkdir -p .pristine-oldroot
pivot_root . .pristine-oldroot
cd /
umount -l /.pristine-oldroot
rmdir /.pristine-oldroot
exec "$@"
