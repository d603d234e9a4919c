#!/bin/sh
# metalnet discovery agent: collects this machine's hardware inventory and POSTs it
# to metalnet's /v1/discovery endpoint. POSIX sh, runs under busybox ash in the
# discovery ramdisk (and under dash/bash for its tests).
#
#   agent.sh [--print] [--url URL] [--boot-mac MAC]
#
#   --print       write the inventory JSON to stdout and exit (no network)
#   --url URL     where to POST; default: metalnet.url= on the kernel command line,
#                 else http://<DHCP server id>:8080/v1/discovery from /run/metalnet-dhcp.env
#   --boot-mac    the MAC the machine booted from (default: BOOTIF= on the command line,
#                 else the interface named by the DHCP environment file)
#
# Environment: METALNET_ROOT (prefix of /sys and /proc, for tests),
# METALNET_RETRIES (attempts, default 8), METALNET_TIMEOUT (seconds per attempt, 20).
# Exit status: 0 posted (or printed), 1 every attempt failed, 2 usage.

ROOT=${METALNET_ROOT:-}
RETRIES=${METALNET_RETRIES:-8}
TIMEOUT=${METALNET_TIMEOUT:-20}
DHCP_ENV=${METALNET_DHCP_ENV:-/run/metalnet-dhcp.env}
PRINT=0
URL=
BOOT_MAC=

while [ $# -gt 0 ]; do
    case "$1" in
        --print) PRINT=1 ;;
        --url) shift; URL=${1:-} ;;
        --boot-mac) shift; BOOT_MAC=${1:-} ;;
        *) echo "usage: agent.sh [--print] [--url URL] [--boot-mac MAC]" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "metalnet-agent: $*" >&2; }

# First line of a file, or nothing (sysfs reads may fail with EINVAL, e.g. speed).
read1() {
    [ -r "$1" ] || return 0
    { IFS= read -r _line || [ -n "$_line" ]; } < "$1" 2>/dev/null && printf '%s' "$_line"
    _line=
}

# Leading and trailing blanks removed (SCSI pads model and vendor).
trim() {
    printf '%s' "$1" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}

# A JSON string: backslash and quote escaped, control and non-ASCII bytes dropped.
jstr() {
    printf '"%s"' "$(printf '%s' "$1" | tr -cd ' -~' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# A JSON string, or null when empty.
jstr_or_null() {
    if [ -n "$1" ]; then jstr "$1"; else printf 'null'; fi
}

# A JSON number, or null when not a non-negative integer.
jnum() {
    case "$1" in
        ''|*[!0-9]*) printf 'null' ;;
        *) printf '%s' "$1" ;;
    esac
}

cmdline_arg() {
    for _word in $(cat "$ROOT/proc/cmdline" 2>/dev/null); do
        case "$_word" in
            "$1"=*) printf '%s' "${_word#*=}"; return 0 ;;
        esac
    done
    return 0
}

dhcp_var() {
    [ -r "$DHCP_ENV" ] || return 0
    sed -n "s/^$1=//p" "$DHCP_ENV" | head -n 1
}

cpu_json() {
    _count=$(grep -c '^processor' "$ROOT/proc/cpuinfo" 2>/dev/null)
    _model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' "$ROOT/proc/cpuinfo" 2>/dev/null | head -n 1)
    _arch=$(uname -m 2>/dev/null)
    printf '{"count":%s,"model":%s,"architecture":%s}' \
        "$(jnum "$_count")" "$(jstr_or_null "$_model")" "$(jstr_or_null "$_arch")"
}

memory_json() {
    _kib=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' "$ROOT/proc/meminfo" 2>/dev/null)
    case "$_kib" in ''|*[!0-9]*) _mib= ;; *) _mib=$((_kib / 1024)) ;; esac
    printf '{"total_mib":%s}' "$(jnum "$_mib")"
}

disks_json() {
    printf '['
    _sep=
    for _dev in "$ROOT"/sys/block/*; do
        [ -e "$_dev" ] || continue
        _name=${_dev##*/}
        case "$_name" in loop*|ram*|zram*|sr*|fd*|dm-*|md*|nbd*) continue ;; esac
        _sectors=$(read1 "$_dev/size")
        case "$_sectors" in ''|*[!0-9]*) _bytes= ;; *) _bytes=$((_sectors * 512)) ;; esac
        _model=$(read1 "$_dev/device/model")
        _vendor=$(read1 "$_dev/device/vendor")
        _serial=$(read1 "$_dev/serial")
        [ -n "$_serial" ] || _serial=$(read1 "$_dev/device/serial")
        _rot=$(read1 "$_dev/queue/rotational")
        case "$_rot" in 1) _rot=true ;; 0) _rot=false ;; *) _rot=null ;; esac
        printf '%s{"name":%s,"size_bytes":%s,"model":%s,"vendor":%s,"serial":%s,"rotational":%s}' \
            "$_sep" "$(jstr "$_name")" "$(jnum "$_bytes")" "$(jstr_or_null "$(trim "$_model")")" \
            "$(jstr_or_null "$(trim "$_vendor")")" "$(jstr_or_null "$(trim "$_serial")")" "$_rot"
        _sep=,
    done
    printf ']'
}

nics_json() {
    printf '['
    _sep=
    for _dev in "$ROOT"/sys/class/net/*; do
        [ -e "$_dev" ] || continue
        _name=${_dev##*/}
        [ "$_name" = lo ] && continue
        [ -e "$_dev/device" ] || continue  # physical NICs only (no bridges, tunnels)
        _mac=$(read1 "$_dev/address")
        _speed=$(read1 "$_dev/speed")
        _carrier=$(read1 "$_dev/carrier")
        case "$_carrier" in 1) _link=true ;; 0) _link=false ;; *) _link=null ;; esac
        _driver=
        if [ -e "$_dev/device/driver" ]; then
            _driver=$(readlink "$_dev/device/driver" 2>/dev/null)
            _driver=${_driver##*/}
        fi
        printf '%s{"name":%s,"mac":%s,"speed_mbps":%s,"link":%s,"driver":%s}' \
            "$_sep" "$(jstr "$_name")" "$(jstr "$_mac")" "$(jnum "$_speed")" "$_link" \
            "$(jstr_or_null "$_driver")"
        _sep=,
    done
    printf ']'
}

dmi_json() {
    _d="$ROOT/sys/class/dmi/id"
    printf '{"vendor":%s,"product":%s,"serial":%s,"uuid":%s,"bios_vendor":%s,"bios_version":%s}' \
        "$(jstr_or_null "$(read1 "$_d/sys_vendor")")" \
        "$(jstr_or_null "$(read1 "$_d/product_name")")" \
        "$(jstr_or_null "$(read1 "$_d/product_serial")")" \
        "$(jstr_or_null "$(read1 "$_d/product_uuid")")" \
        "$(jstr_or_null "$(read1 "$_d/bios_vendor")")" \
        "$(jstr_or_null "$(read1 "$_d/bios_version")")"
}

boot_mode() {
    if [ -d "$ROOT/sys/firmware/efi" ]; then echo uefi; else echo bios; fi
}

boot_mac() {
    [ -n "$BOOT_MAC" ] && { printf '%s' "$BOOT_MAC"; return 0; }
    _bootif=$(cmdline_arg BOOTIF)
    if [ -n "$_bootif" ]; then
        # pxelinux/iPXE form 01-aa-bb-cc-dd-ee-ff
        printf '%s' "${_bootif#01-}" | tr '-' ':' | tr 'A-F' 'a-f'
        return 0
    fi
    _iface=$(dhcp_var interface)
    [ -n "$_iface" ] && read1 "$ROOT/sys/class/net/$_iface/address"
    return 0
}

inventory() {
    printf '{"version":1,"agent":"metalnet-agent-sh/1","boot_mode":%s,"boot_mac":%s,' \
        "$(jstr "$(boot_mode)")" "$(jstr_or_null "$(boot_mac)")"
    printf '"cpu":%s,"memory":%s,"disks":%s,"nics":%s,"dmi":%s}\n' \
        "$(cpu_json)" "$(memory_json)" "$(disks_json)" "$(nics_json)" "$(dmi_json)"
}

if [ "$PRINT" = 1 ]; then
    inventory
    exit 0
fi

[ -n "$URL" ] || URL=$(cmdline_arg metalnet.url)
if [ -z "$URL" ]; then
    _server=$(dhcp_var serverid)
    [ -n "$_server" ] && URL="http://$_server:8080/v1/discovery"
fi
if [ -z "$URL" ]; then
    log "no metalnet.url= on the kernel command line and no DHCP server to fall back on"
    exit 1
fi

BODY=/tmp/metalnet-inventory.json
REPLY=/tmp/metalnet-reply.json
inventory > "$BODY"
log "inventory: $(wc -c < "$BODY") bytes, posting to $URL"

attempt=1
delay=1
while [ "$attempt" -le "$RETRIES" ]; do
    rm -f "$REPLY"
    # busybox 1.35's `wget -T` crashes: bound each attempt with timeout(1) instead.
    if timeout "$TIMEOUT" wget -q -O "$REPLY" --header 'Content-Type: application/json' \
        --post-file "$BODY" "$URL" 2>/tmp/metalnet-wget.err; then
        log "inventory accepted: $(cat "$REPLY" 2>/dev/null)"
        echo "METALNET-INVENTORY-POSTED"
        exit 0
    fi
    log "attempt $attempt/$RETRIES failed: $(tr '\n' ' ' < /tmp/metalnet-wget.err 2>/dev/null); retrying in ${delay}s"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2))
    [ "$delay" -gt 30 ] && delay=30
done
log "giving up after $RETRIES attempts"
exit 1
