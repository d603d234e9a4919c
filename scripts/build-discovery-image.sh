#!/usr/bin/env bash
# Builds metalnet's boot images from Debian packages (never installed, only downloaded
# with `apt-get download` and unpacked with `dpkg -x`):
#
#   vmlinuz         the Debian kernel (linux-image-amd64's dependency)
#   discovery.img   busybox initramfs: NIC modules, udhcpc, metalnet's discovery agent
#   target.img      busybox initramfs that prints METALNET-PROFILE-BOOTED on the console
#
# Output: $METALNET_IMAGE_CACHE/<key>/ (default /var/cache/metalnet/images, outside the
# checkout so fresh clones on the same machine, CI's included, reuse it; key = kernel and
# busybox package versions + a hash of this script and the agent), with latest/ pointing
# at it. A second run with the same key does nothing. The last line on stdout is the
# output directory.
#
#   scripts/build-discovery-image.sh [--force] [--out DIR]
#
# Kernel command line understood by both ramdisks:
#   metalnet.url=URL           where the agent POSTs (default http://<DHCP server>:8080/v1/discovery)
#   metalnet.after=ACTION      poweroff | reboot | stay (default: stay)
#   BOOTIF=01-aa-bb-..         the boot NIC (default: every NIC with a link is tried)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

force=0
base="${METALNET_IMAGE_CACHE:-/var/cache/metalnet/images}"
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --out) shift; base=$1 ;;
    *) echo "usage: $0 [--force] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "build-discovery-image: $*" >&2; }

# Kernel modules the ramdisks load, dependencies first (Debian builds them all as modules):
# virtio-net and virtio-blk (QEMU's default lab NIC and disk) and e1000.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
         failover net_failover virtio_net virtio_blk e1000)

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'; }

kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
kernel_pkg=$(kernel_package)
if [ -z "$kernel_pkg" ]; then
  log "apt knows no linux-image-amd64: running apt-get update"
  apt-get update -qq >&2
  kernel_pkg=$(kernel_package)
  [ -n "$kernel_pkg" ] || { log "still no linux-image-amd64 in apt's lists"; exit 1; }
fi
recipe_hash=$( (cat "$0" metalnet/discovery/agent.sh) | sha256sum | cut -c1-12)
versions() { # the versions apt offers now, and the build's key and directory for them
  kernel_ver=$(candidate "$kernel_pkg")
  busybox_ver=$(candidate busybox-static)
  key="${kernel_pkg#linux-image-}_${kernel_ver}_bb${busybox_ver#*:}_${recipe_hash}"
  key=$(printf '%s' "$key" | tr -c 'A-Za-z0-9._-' '_')
  out="$base/$key"
}
versions

if [ "$force" = 0 ] && [ -f "$out/manifest.json" ]; then
  log "up to date: $out"
  ln -sfn "$key" "$base/latest"
  echo "$out"
  exit 0
fi

mkdir -p "$base/debs"
work=$(mktemp -d "$base/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "downloading $kernel_pkg $kernel_ver and busybox-static $busybox_ver"
download() {
  (cd "$base/debs" && apt-get download -q "$kernel_pkg=$kernel_ver" \
    "busybox-static=$busybox_ver" >/dev/null 2>"$work/apt.err")
}
if ! download; then
  # Stale lists name versions the mirror no longer has: refresh once and retry.
  log "download failed; running apt-get update and retrying"
  apt-get update -qq >&2
  kernel_pkg=$(kernel_package)
  versions # the build goes under the key of what is downloaded now
  download || { cat "$work/apt.err" >&2; exit 1; }
fi
# apt-get download names a file package_version_arch.deb, an epoch's ':' written %3a.
deb_of() { ls "$base/debs/${1}_${2//:/%3a}_"*.deb; }
kernel_deb=$(deb_of "$kernel_pkg" "$kernel_ver")
busybox_deb=$(deb_of busybox-static "$busybox_ver")
dpkg -x "$kernel_deb" "$work/kernel"
dpkg -x "$busybox_deb" "$work/busybox"

release=${kernel_pkg#linux-image-}
moddir="$work/kernel/lib/modules/$release"
vmlinuz="$work/kernel/boot/vmlinuz-$release"
[ -f "$vmlinuz" ] || { log "no vmlinuz in $kernel_deb"; exit 1; }

# ---------------------------------------------------------------- common ramdisk base
make_base() {
  local root=$1
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,lib/modules,metalnet}
  cp "$work/busybox/bin/busybox" "$root/bin/busybox"
  mknod -m 600 "$root/dev/console" c 5 1
  mknod -m 666 "$root/dev/null" c 1 3
  : > "$root/lib/modules/load-order"
  local m f
  for m in "${MODULES[@]}"; do
    f=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
    [ -n "$f" ] || { log "module $m not in $kernel_deb (built in?)"; continue; }
    case "$f" in
      *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
      *) cp "$f" "$root/lib/modules/$m.ko" ;;
    esac
    echo "$m" >> "$root/lib/modules/load-order"
  done
  cat > "$root/metalnet/common.sh" <<'EOF'
# Shared by the ramdisks' /init: mounts, modules, console, command line, the final action.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done

arg() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1"=*) echo "${w#*=}"; return 0 ;; esac
  done
  return 0
}

finish() {
  case "$(arg metalnet.after)" in
    poweroff) echo "metalnet: powering off"; sync; poweroff -f ;;
    reboot) echo "metalnet: rebooting"; sync; reboot -f ;;
  esac
  echo "metalnet: staying up (metalnet.after=poweroff|reboot to change)"
  while :; do sleep 3600; done
}
EOF
}

pack() {
  local root=$1 image=$2
  (cd "$root" && find . | sort | "$work/busybox/bin/busybox" cpio -o -H newc 2>/dev/null) \
    | gzip -9 > "$image"
}

# ---------------------------------------------------------------- discovery ramdisk
disc="$work/discovery"
make_base "$disc"
cp metalnet/discovery/agent.sh "$disc/metalnet/agent.sh"
chmod 755 "$disc/metalnet/agent.sh"
cat > "$disc/metalnet/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc hook: configure the interface and record what the server said.
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    { echo "interface=$interface"; echo "ip=$ip"; echo "serverid=$serverid";
      echo "siaddr=$siaddr"; } > /run/metalnet-dhcp.env
    ;;
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
esac
exit 0
EOF
chmod 755 "$disc/metalnet/udhcpc.script"
cat > "$disc/init" <<'EOF'
#!/bin/busybox sh
. /metalnet/common.sh
echo "metalnet: discovery ramdisk started ($(uname -r))"
bootif=$(arg BOOTIF | sed 's/^01-//; s/-/:/g' | tr 'A-F' 'a-f')
ifaces=
for dev in /sys/class/net/*; do
  name=${dev##*/}
  [ "$name" = lo ] && continue
  ip link set "$name" up
  if [ -n "$bootif" ] && [ "$(cat "$dev/address")" = "$bootif" ]; then
    ifaces="$name $ifaces"
  else
    ifaces="$ifaces $name"
  fi
done
bound=
for attempt in 1 2 3; do
  for name in $ifaces; do
    if udhcpc -i "$name" -n -q -f -t 5 -T 2 -s /metalnet/udhcpc.script >/tmp/udhcpc.log 2>&1; then
      bound=$name; break 2
    fi
  done
done
if [ -z "$bound" ]; then
  echo "metalnet: no DHCP lease on any of:$ifaces"
  cat /tmp/udhcpc.log
  finish
fi
echo "metalnet: $bound is $(sed -n 's/^ip=//p' /run/metalnet-dhcp.env)"
/metalnet/agent.sh --boot-mac "$(cat "/sys/class/net/$bound/address")" \
  || echo "metalnet: the agent could not post the inventory"
finish
EOF
chmod 755 "$disc/init"

# ---------------------------------------------------------------- target ramdisk
tgt="$work/target"
make_base "$tgt"
cat > "$tgt/init" <<'EOF'
#!/bin/busybox sh
. /metalnet/common.sh
macs=$(cat /sys/class/net/*/address 2>/dev/null | grep -v '^00:00:00:00:00:00' | tr '\n' ' ')
echo "METALNET-PROFILE-BOOTED macs=$macs cmdline=$(cat /proc/cmdline)"
finish
EOF
chmod 755 "$tgt/init"

# ---------------------------------------------------------------- output
staging="$work/out"
mkdir -p "$staging"
cp "$vmlinuz" "$staging/vmlinuz"
pack "$disc" "$staging/discovery.img"
pack "$tgt" "$staging/target.img"
cat > "$staging/manifest.json" <<EOF
{
  "key": "$key",
  "kernel_package": "$kernel_pkg",
  "kernel_version": "$kernel_ver",
  "busybox_version": "$busybox_ver",
  "modules": "$(tr '\n' ' ' < "$disc/lib/modules/load-order" | sed 's/ $//')",
  "files": {
    "vmlinuz": "$(sha256sum "$staging/vmlinuz" | cut -d' ' -f1)",
    "discovery.img": "$(sha256sum "$staging/discovery.img" | cut -d' ' -f1)",
    "target.img": "$(sha256sum "$staging/target.img" | cut -d' ' -f1)"
  }
}
EOF
rm -rf "$out"
mkdir -p "$base"
mv "$staging" "$out"
ln -sfn "$key" "$base/latest"
# Keep one build: older keys go.
find "$base" -mindepth 1 -maxdepth 1 -type d ! -name debs ! -name "$key" ! -name '.work.*' \
  -exec rm -rf {} +
# Keep the download cache to the packages this build used.
find "$base/debs" -name '*.deb' ! -path "$kernel_deb" ! -path "$busybox_deb" -delete
log "built $out ($(du -sh "$out" | cut -f1))"
echo "$out"
