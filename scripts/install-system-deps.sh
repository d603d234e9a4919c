#!/usr/bin/env bash
# Installs the Debian packages metalnet needs.
#   scripts/install-system-deps.sh build   # what building it takes (a C compiler, Python headers)
#   scripts/install-system-deps.sh         # that, and what the tests and benchmarks use
# Idempotent; services that packages would start on install are kept stopped
# (the tests start their own instances on their own addresses).
set -euo pipefail

packages=(gcc libc6-dev python3-dev)
[ "${1:-all}" = build ] || packages+=(
  iproute2 iputils-ping procps tcpdump curl
  isc-dhcp-client udhcpc dhcpcd-base
  tftp-hpa atftp tftpd-hpa
  kea-dhcp4-server kea-admin
  postgresql
  ipxe pxelinux syslinux-common
  qemu-system-x86 ipxe-qemu ovmf busybox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

# Keep package scripts from starting daemons (tftpd-hpa, kea, postgresql).
policy=/usr/sbin/policy-rc.d
cleanup_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  cleanup_policy=1
fi
trap '[ "$cleanup_policy" = 1 ] && rm -f "$policy"' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
