#!/usr/bin/env bash
# DHCP exchange rate of metalnet against Kea (kea-dhcp4, memfile), measured with ISC perfdhcp.
#
#   sudo bench/dhcp_rate.sh                       # ROUNDS=3, all scenarios, about 10 minutes
#   ROUNDS=1 SCENARIOS=pool bench/dhcp_rate.sh
#   PROFILE=1 SCENARIOS=reg10k bench/dhcp_rate.sh # also a py-spy profile of metalnet at load
#
# Topology: two identical, separate worlds of network namespaces, one per server, so both
# servers stay up for the whole scenario and only perfdhcp alternates between them:
#   <tag>-ms  srv0 198.18.0.1/15  --veth--  cli0 198.18.0.2/15  <tag>-mc   (metalnet)
#   <tag>-ks  srv0 198.18.0.1/15  --veth--  cli0 198.18.0.2/15  <tag>-kc   (kea-dhcp4)
# perfdhcp always poses as a relay (giaddr 198.18.0.2, from port 67); both servers answer
# giaddr:67. The served subnet is 198.18.0.0/15 (see bench/dhcp_setup.py for the plan).
#
# Scenarios (SCENARIOS):
#   reg10k  10,000 registered MACs (metalnet: ports, policy ignore; Kea: reservations, no pool)
#   reg50k  50,000 registered MACs (the same servers, 40,000 more ports / reservations)
#   pool    unknown MACs, dynamic leases from a 130,815-address pool (metalnet policy pool),
#           every exchange a first allocation (fresh MACs per run), leases durable
# Per round and server: the highest sustained rate is searched (perfdhcp -r, PROBE_SECONDS per
# probe, at most MAX_PROBES probes; a probe passes when >= 97 % of the offered 4-way exchanges
# per second completed and <= 1 % of either stage was lost), then both servers run at 80 % of
# the lower of their two maxima ("equal load") for drops and latency side by side. Rounds
# alternate which server goes first. The table prints medians and the ratio metalnet/Kea.
#
# Everything started here (servers, perfdhcp, py-spy) is stopped by PID; the namespaces and
# the temp dir are removed on exit. Root is needed (namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SCENARIOS=${SCENARIOS:-"reg10k reg50k pool"}
PROBE_SECONDS=${PROBE_SECONDS:-2}
EQUAL_SECONDS=${EQUAL_SECONDS:-4}
# After sending, perfdhcp waits this long for replies still on their way: without it
# every reply in flight at the end counts as lost, and the slower-answering server
# "loses" more. Short, so that a backlog drained meanwhile adds little to the rate.
EXIT_WAIT_MS=${EXIT_WAIT_MS:-100}
MAX_PROBES=${MAX_PROBES:-5}
START_RATE=${START_RATE:-2000}
MAX_RATE=${MAX_RATE:-24000}
DEADLINE=${DEADLINE:-720} # seconds for the whole script
PROFILE=${PROFILE:-0}
PY=.venv/bin/python
METALNET=.venv/bin/metalnet
PERFDHCP=/usr/sbin/perfdhcp
KEA=/usr/sbin/kea-dhcp4
API=127.0.0.1:9696 # inside metalnet's namespace
SERVER_IP=198.18.0.1
RELAY_IP=198.18.0.2
POOL_SIZE=130815

for tool in ip ss curl timeout "$PERFDHCP" "$KEA"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-system-deps.sh)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }

began=$(date +%s)
tag=mnb$$
work=$(mktemp -d /tmp/metalnet-dhcp-bench.XXXXXX)
namespaces=()
pids=()

# shellcheck source=bench/stop_pid.sh
. bench/stop_pid.sh

cleanup() {
  local pid ns
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() { # drop a stopped pid from the cleanup list
  local keep=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  pids=("${keep[@]}")
}

check_deadline() {
  if [ $(($(date +%s) - began)) -gt "$DEADLINE" ]; then
    echo "deadline of $DEADLINE s passed; stopping (partial results below)" >&2
    "$PY" bench/dhcp_results.py table "$work/results.jsonl" || true
    exit 1
  fi
}

log() { echo "[$(($(date +%s) - began))s] $*" >&2; }

make_world() { # server-ns client-ns
  ip netns add "$1"; namespaces+=("$1")
  ip netns add "$2"; namespaces+=("$2")
  ip link add srv0 netns "$1" type veth peer name cli0 netns "$2"
  ip -n "$1" addr add "$SERVER_IP/15" dev srv0
  ip -n "$2" addr add "$RELAY_IP/15" dev cli0
  for ns in "$1" "$2"; do ip -n "$ns" link set lo up; done
  ip -n "$1" link set srv0 up
  ip -n "$2" link set cli0 up
}

ms=$tag-ms mc=$tag-mc ks=$tag-ks kc=$tag-kc
make_world "$ms" "$mc"
make_world "$ks" "$kc"
declare -A client_ns=([metalnet]=$mc [kea]=$kc)
declare -A server_ns=([metalnet]=$ms [kea]=$ks)
declare -A server_pid=()
results=$work/results.jsonl
: >"$results"

# ------------------------------------------------------------------ servers

start_metalnet() { # state-dir
  mkdir -p "$1"
  ip netns exec "$ms" "$METALNET" serve --state-dir "$1" --listen "$API" --noauth \
    --interface ctl:srv0 >>"$work/metalnet.log" 2>&1 &
  server_pid[metalnet]=$!
  pids+=("${server_pid[metalnet]}")
  local i
  for i in $(seq 1 300); do
    ip netns exec "$ms" curl -sf -o /dev/null "http://$API/" && return 0
    kill -0 "${server_pid[metalnet]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "metalnet did not start:" >&2; tail -20 "$work/metalnet.log" >&2; exit 1
}

start_kea() { # config
  mkdir -p "$work/kea-run"
  ip netns exec "$ks" env KEA_PIDFILE_DIR="$work/kea-run" KEA_LOCKFILE_DIR="$work/kea-run" \
    "$KEA" -c "$1" >>"$work/kea.out" 2>&1 &
  server_pid[kea]=$!
  pids+=("${server_pid[kea]}")
  local i
  for i in $(seq 1 600); do
    ip netns exec "$ks" ss -Hunl "sport = :67" | grep -q "$SERVER_IP" && return 0
    kill -0 "${server_pid[kea]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "kea-dhcp4 did not start:" >&2; tail -20 "$work/kea.out" >&2; exit 1
}

stop_server() { # name
  local pid=${server_pid[$1]:-}
  [ -n "$pid" ] || return 0
  stop_pid "$pid"
  forget_pid "$pid"
  server_pid[$1]=
}

kea_config() { # file, then dhcp_setup.py kea arguments
  local file=$1; shift
  "$PY" bench/dhcp_setup.py kea srv0 --leases "$work/kea-leases-$$.csv" \
    --log "$work/kea.log" "$@" >"$file"
}

fresh_servers() { # scenario
  stop_server metalnet
  stop_server kea
  rm -rf "$work/metalnet-state" "$work"/kea-leases-*
  start_metalnet "$work/metalnet-state"
  case $1 in
    reg10k) ip netns exec "$ms" "$PY" bench/dhcp_setup.py metalnet "http://$API" --ports 10000 \
              --policy ignore --timeout 120
            kea_config "$work/kea.json" --reservations 10000 ;;
    pool)   ip netns exec "$ms" "$PY" bench/dhcp_setup.py metalnet "http://$API" --policy pool
            kea_config "$work/kea.json" --pool ;;
  esac
  start_kea "$work/kea.json"
}

# ------------------------------------------------------------------ perfdhcp

macs=""
declare -A pool_used=([metalnet]=0 [kea]=0)
fresh_block=0

rcvbuf_errors() { # namespace: UDP datagrams dropped because a socket's buffer was full
  ip netns exec "$1" awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp
}

perf() { # server rate seconds out [extra perfdhcp args]; also OUT.udp: overflows in the run
  local server=$1 rate=$2 seconds=$3 out=$4 s0 c0; shift 4
  s0=$(rcvbuf_errors "${server_ns[$server]}")
  c0=$(rcvbuf_errors "${client_ns[$server]}")
  timeout $((seconds + 30)) ip netns exec "${client_ns[$server]}" "$PERFDHCP" -4 -r "$rate" \
    -p "$seconds" -W $((EXIT_WAIT_MS * 1000)) -x t -l "$RELAY_IP" "$@" "$SERVER_IP" >"$out" 2>&1 || true
  echo "$(($(rcvbuf_errors "${server_ns[$server]}") - s0))" \
    "$(($(rcvbuf_errors "${client_ns[$server]}") - c0))" >"$out.udp"
}

wait_drained() { # server: its DHCP socket has no backlog (a failed probe can leave one)
  local i q
  for i in $(seq 1 100); do
    q=$(ip netns exec "${server_ns[$1]}" ss -Hun "sport = :67" | awk '{s += $2} END {print s + 0}')
    [ "$q" = 0 ] && break
    sleep 0.1
  done
  sleep 0.3
}

choose_macs() { # server scenario rate seconds -> $macs, perfdhcp's MAC arguments for a run
  local server=$1 scenario=$2 rate=$3 seconds=$4
  case $scenario in
    reg10k) macs="-b mac=$("$PY" bench/dhcp_setup.py mac registered) -R 10000" ;;
    reg50k) macs="-b mac=$("$PY" bench/dhcp_setup.py mac registered) -R 50000" ;;
    pool)
      # A fresh block of MACs per run: every exchange is a first allocation. Restart the
      # server with no leases when the run could exhaust the pool.
      if [ $((pool_used[$server] + rate * seconds)) -gt $((POOL_SIZE * 9 / 10)) ]; then
        log "  $server: pool nearly used up, restarting it with no leases"
        restart_pool_server "$server"
      fi
      pool_used[$server]=$((pool_used[$server] + rate * seconds))
      fresh_block=$((fresh_block + 1))
      macs="-b mac=$("$PY" bench/dhcp_setup.py mac unknown --index "$fresh_block") -R 16777216" ;;
  esac
}

restart_pool_server() { # server
  stop_server "$1"
  if [ "$1" = metalnet ]; then
    rm -rf "$work/metalnet-state"
    start_metalnet "$work/metalnet-state"
    ip netns exec "$ms" "$PY" bench/dhcp_setup.py metalnet "http://$API" --policy pool
  else
    rm -f "$work"/kea-leases-*
    start_kea "$work/kea.json"
  fi
  pool_used[$1]=0
}

warm() { # server scenario: until the server answers the last registered MACs (view caught up)
  local server=$1 scenario=$2 n template i
  case $scenario in
    reg10k) n=10000 ;; reg50k) n=50000 ;; *) n=0 ;;
  esac
  for i in $(seq 1 30); do
    if [ "$n" -gt 0 ]; then
      macs="-b mac=$("$PY" bench/dhcp_setup.py mac registered --index $((n - 200))) -R 200"
    else
      choose_macs "$server" "$scenario" 300 1
    fi
    # shellcheck disable=SC2086
    perf "$server" 300 1 "$work/warm.out" $macs
    [ "$("$PY" bench/dhcp_results.py judge "$work/warm.out" --offered 300 --seconds 1)" = pass ] &&
      return 0
    sleep 0.5
  done
  echo "$server never answered the warm-up ($scenario):" >&2; cat "$work/warm.out" >&2; exit 1
}

declare -A last_best=()
best_rate=0

summary() { # perfdhcp output, seconds of sending: rate and loss for the log
  "$PY" bench/dhcp_results.py summary "$1" --seconds "$2"
}

search() { # server scenario round: the highest passing rate -> best_rate; records it
  local server=$1 scenario=$2 round=$3 probe rate lo=0 hi=0 factor out verdict best_out="" limit=none
  rate=${last_best[$server/$scenario]:-$START_RATE}
  factor=2
  [ -n "${last_best[$server/$scenario]:-}" ] && factor=1.25
  for probe in $(seq 1 "$MAX_PROBES"); do
    check_deadline
    out=$work/$scenario.$server.$round.probe$probe.out
    wait_drained "$server"
    choose_macs "$server" "$scenario" "$rate" "$PROBE_SECONDS"
    # shellcheck disable=SC2086
    perf "$server" "$rate" "$PROBE_SECONDS" "$out" $macs
    verdict=$("$PY" bench/dhcp_results.py judge "$out" --offered "$rate" --seconds "$PROBE_SECONDS")
    log "  $server $scenario round $round: $rate/s $verdict ($(summary "$out" "$PROBE_SECONDS"))"
    if [ "$verdict" = pass ]; then
      lo=$rate; best_out=$out
    else
      hi=$rate; limit=$verdict # the lowest failing rate: what stopped the search
    fi
    if [ "$hi" = 0 ]; then
      [ "$rate" -ge "$MAX_RATE" ] && break
      rate=$(awk -v r="$rate" -v f="$factor" -v m="$MAX_RATE" 'BEGIN { r = int(r * f / 100) * 100; print (r > m ? m : r) }')
    elif [ "$lo" = 0 ]; then
      rate=$(awk -v r="$rate" -v f="$factor" 'BEGIN { r = int(r / f / 100) * 100; print (r < 100 ? 100 : r) }')
      [ "$rate" -ge "$hi" ] && break
    else
      # Done within 10 % (or one 100/s step: rates go in steps of 100).
      [ $((hi - lo)) -le $((lo / 10 > 100 ? lo / 10 : 100)) ] && break
      rate=$(((lo + hi) / 200 * 100))
    fi
  done
  best_rate=$lo
  if [ "$lo" -gt 0 ]; then
    last_best[$server/$scenario]=$lo
  else # nothing passed: record the last (lowest) probe, which shows why
    best_out=$out; lo=$rate
  fi
  "$PY" bench/dhcp_results.py record "$best_out" "$results" --scenario "$scenario" \
    --server "$server" --round "$round" --kind max --offered "$lo" --seconds "$PROBE_SECONDS" \
    --limited-by "$limit"
}

equal_load() { # server scenario round rate
  local out=$work/$1.$2.$3.equal.out
  check_deadline
  wait_drained "$1"
  choose_macs "$1" "$2" "$4" "$EQUAL_SECONDS"
  # shellcheck disable=SC2086
  perf "$1" "$4" "$EQUAL_SECONDS" "$out" $macs
  "$PY" bench/dhcp_results.py record "$out" "$results" --scenario "$2" --server "$1" \
    --round "$3" --kind equal --offered "$4" --seconds "$EQUAL_SECONDS"
  log "  $1 $2 round $3 equal load $4/s: $(summary "$out" "$EQUAL_SECONDS")"
}

profile_metalnet() { # scenario rate: py-spy on metalnet under load, summary in the log
  local out=$work/profile.raw
  choose_macs metalnet "$1" "$2" 12
  # shellcheck disable=SC2086
  perf metalnet "$2" 12 "$work/profile.perf.out" $macs &
  local perf_pid=$!
  pids+=("$perf_pid")
  sleep 1
  timeout 30 .venv/bin/py-spy record -d 10 -r 250 --nonblocking --format raw -o "$out" \
    --pid "${server_pid[metalnet]}" >/dev/null 2>&1 || true
  wait "$perf_pid" || true
  forget_pid "$perf_pid"
  if [ -s "$out" ]; then
    cp "$out" "/tmp/metalnet-dhcp-profile-$1.raw"
    {
      echo
      echo "py-spy, metalnet at $2/s offered, $1 (raw stacks: /tmp/metalnet-dhcp-profile-$1.raw;"
      echo "perfdhcp: $(summary "$work/profile.perf.out" 12))"
      "$PY" bench/dhcp_results.py profile "$out"
    } >>"$work/profiles.txt"
  fi
}

# ------------------------------------------------------------------ run

for scenario in $SCENARIOS; do
  check_deadline
  case $scenario in
    reg10k|pool) log "scenario $scenario: starting both servers"; fresh_servers "$scenario" ;;
    reg50k)
      if [ -z "${server_pid[metalnet]:-}" ] || [ "${current:-}" != reg10k ]; then
        fresh_servers reg10k
      fi
      log "scenario reg50k: 40,000 more ports and reservations"
      ip netns exec "$ms" "$PY" bench/dhcp_setup.py metalnet "http://$API" --first 10000 \
        --ports 50000 --policy ignore --timeout 180
      stop_server kea
      kea_config "$work/kea.json" --reservations 50000
      start_kea "$work/kea.json" ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
  current=$scenario
  warm metalnet "$scenario"
  warm kea "$scenario"
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="metalnet kea"; else order="kea metalnet"; fi
    declare -A round_best=()
    for server in $order; do
      search "$server" "$scenario" "$round"
      round_best[$server]=$best_rate
    done
    low=${round_best[metalnet]}
    [ "${round_best[kea]}" -lt "$low" ] && low=${round_best[kea]}
    common=$((low * 8 / 1000 * 100))
    if [ "$common" -gt 0 ]; then
      for server in $order; do equal_load "$server" "$scenario" "$round" "$common"; done
    fi
  done
  if [ "$PROFILE" = 1 ]; then
    profile_metalnet "$scenario" "${last_best[metalnet/$scenario]:-$START_RATE}"
  fi
done
stop_server metalnet
stop_server kea

echo
echo "metalnet $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet -- metalnet 2>/dev/null || echo '+changes'), $(python3 -c 'import os; print(os.cpu_count())') CPUs, Kea $($KEA -v), perfdhcp $($PERFDHCP -v 2>&1 | head -1)"
echo "rounds $ROUNDS, probes of $PROBE_SECONDS s, equal load $EQUAL_SECONDS s, total $(($(date +%s) - began)) s"
"$PY" bench/dhcp_results.py table "$results"
if [ -s "$work/profiles.txt" ]; then cat "$work/profiles.txt"; fi
