#!/usr/bin/env bash
# Throughput of metalnet's TFTP server against tftpd-hpa on loopback, plus HTTP boot.
#
#   bench/tftp_rate.sh            # ROUNDS=3 interleaved rounds
#   ROUNDS=1 CONCURRENT=20 bench/tftp_rate.sh
#   PIN=1 bench/tftp_rate.sh      # also single transfers with server and client on one CPU
#
# Cases: 64 MiB with the tftp-hpa client (no options, blksize 512), with curl
# (blksize 1468), with atftp (blksize 1468, windowsize 16; tftpd-hpa ignores the
# window), CONCURRENT x 30 MiB curl transfers at once (blksize 1468), and the
# 64 MiB file over HTTP from the boot app under uvicorn.
# Only the processes started here are stopped, by PID; the temp dir is removed.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
CONCURRENT=${CONCURRENT:-50}
PIN=${PIN:-0}
LIMIT=120 # seconds any one client may run
PY=.venv/bin/python

for tool in tftp atftp curl /usr/sbin/in.tftpd taskset timeout; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-system-deps.sh)" >&2; exit 1; }
done

# shellcheck source=bench/stop_pid.sh
. bench/stop_pid.sh
work=$(mktemp -d /tmp/metalnet-tftp-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

root=$work/root
mkdir -p "$root"
head -c $((64 << 20)) /dev/urandom >"$root/f64m"
head -c $((30 << 20)) /dev/urandom >"$root/f30m"
# tftpd-hpa drops to user nobody: the files must be world-readable.
chmod 755 "$work" "$root"
chmod 644 "$root"/*

free_port() { "$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
free_tcp_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_servers() { # $1: optional "taskset -c N" prefix
  local prefix=${1:-}
  ours_port=$(free_port)
  $prefix "$PY" -m metalnet.boot.tftp_server --root "$root" --listen "127.0.0.1:$ours_port" \
    --max-sessions-per-client 256 --max-sessions 512 >"$work/metalnet.log" 2>&1 &
  ours_pid=$!
  pids+=("$ours_pid")
  hpa_port=$(free_port)
  $prefix /usr/sbin/in.tftpd --foreground --listen --address "127.0.0.1:$hpa_port" --secure "$root" &
  hpa_pid=$!
  pids+=("$hpa_pid")
  sleep 1
}

stop_servers() {
  stop_pid "$ours_pid"
  stop_pid "$hpa_pid"
}

now() { date +%s.%N; }
results=$work/results.tsv
: >"$results"

record() { # case server round start end bytes
  local seconds
  seconds=$(awk -v a="$4" -v b="$5" 'BEGIN { printf "%.6f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$seconds" "$6" >>"$results"
}

single_cases() { # $1: port, $2: server name, $3: round, $4: case suffix, $5: client prefix
  local port=$1 name=$2 round=$3 suffix=$4 prefix=${5:-} t0 size=$((64 << 20))
  t0=$(now)
  $prefix timeout $LIMIT tftp 127.0.0.1 "$port" -m binary -c get f64m "$work/out.$name" >/dev/null
  [ "$(stat -c %s "$work/out.$name")" = "$size" ] || { echo "short file ($name, tftp-hpa)" >&2; exit 1; }
  record "64 MiB blksize 512 (tftp-hpa client)$suffix" "$name" "$round" "$t0" "$(now)" "$size"
  t0=$(now)
  got=$($prefix timeout $LIMIT curl -sS -o /dev/null -w '%{size_download}' --tftp-blksize 1468 "tftp://127.0.0.1:$port/f64m")
  [ "$got" = "$size" ] || { echo "short file ($name, curl)" >&2; exit 1; }
  record "64 MiB blksize 1468 (curl)$suffix" "$name" "$round" "$t0" "$(now)" "$size"
  t0=$(now)
  $prefix timeout $LIMIT atftp --get -r f64m -l "$work/out.$name" --option "blksize 1468" \
    --option "windowsize 16" 127.0.0.1 "$port" >/dev/null 2>&1
  [ "$(stat -c %s "$work/out.$name")" = "$size" ] || { echo "short file ($name, atftp)" >&2; exit 1; }
  record "64 MiB blksize 1468 windowsize 16 (atftp)$suffix" "$name" "$round" "$t0" "$(now)" "$size"
  rm -f "$work/out.$name"
}

concurrent_case() { # $1: port, $2: server name, $3: round
  local port=$1 name=$2 round=$3 t0 total=0 clients=()
  t0=$(now)
  for i in $(seq 1 "$CONCURRENT"); do
    timeout $LIMIT curl -sS -o /dev/null -w '%{size_download}\n' --tftp-blksize 1468 \
      "tftp://127.0.0.1:$port/f30m" >"$work/conc.$i" &
    clients+=($!)
  done
  for pid in "${clients[@]}"; do wait "$pid"; done
  local t1
  t1=$(now)
  for i in $(seq 1 "$CONCURRENT"); do total=$((total + $(cat "$work/conc.$i"))); done
  [ "$total" = $((CONCURRENT * (30 << 20))) ] || { echo "short transfers ($name): $total" >&2; exit 1; }
  record "$CONCURRENT x 30 MiB concurrent, blksize 1468 (curl)" "$name" "$round" "$t0" "$t1" "$total"
}

start_servers
http_port=$(free_tcp_port)
"$PY" bench/tftp_http_serve.py "$root" "$http_port" &
http_pid=$!
pids+=("$http_pid")
sleep 1.5

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  # Alternate which server goes first so warm caches and CPU state favour neither.
  if [ $((round % 2)) = 1 ]; then order="metalnet tftpd-hpa"; else order="tftpd-hpa metalnet"; fi
  for name in $order; do
    port=$ours_port; [ "$name" = tftpd-hpa ] && port=$hpa_port
    single_cases "$port" "$name" "$round" ""
  done
  for name in $order; do
    port=$ours_port; [ "$name" = tftpd-hpa ] && port=$hpa_port
    concurrent_case "$port" "$name" "$round"
  done
  t0=$(now)
  got=$(timeout $LIMIT curl -sS -o /dev/null -w '%{size_download}' "http://127.0.0.1:$http_port/f64m")
  [ "$got" = $((64 << 20)) ] || { echo "short HTTP download: $got" >&2; exit 1; }
  record "64 MiB HTTP boot (curl, uvicorn)" metalnet "$round" "$t0" "$(now)" "$got"
done
stop_servers

if [ "$PIN" = 1 ]; then
  # Same CPU for server and client: shows per-packet cost without the cross-CPU
  # wake-up latency that dominates lock-step transfers in a VM.
  start_servers "taskset -c 0"
  for round in $(seq 1 "$ROUNDS"); do
    echo "pinned round $round/$ROUNDS" >&2
    single_cases "$ours_port" metalnet "$round" ", pinned" "taskset -c 0"
    single_cases "$hpa_port" tftpd-hpa "$round" ", pinned" "taskset -c 0"
  done
  stop_servers
fi

"$PY" bench/tftp_table.py "$results"
