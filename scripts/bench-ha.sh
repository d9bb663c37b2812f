#!/usr/bin/env bash
# One `bench produce` against a release master with or without an actormq slave, each on a fresh
# temp store, and the slave's replication lag sampled from the master's Prometheus endpoint.
#   scripts/bench-ha.sh none|async|sync [bench produce args...]
# Prints one line: "<mode> <bench json> lag_bytes_p50=.. lag_bytes_p99=.. lag_s_p50=.. lag_s_p99=..
# caught_up_ms=.." (lag: every 100 ms during the run; caught_up_ms: from the end of the load until
# the master reports lag 0) and "cpu_master_us=.. cpu_slave_us=.. cpu_client_us=.." (CPU time per
# message during the load: each broker's from /proc, the load generator's from its own report). Mode none: an ASYNC_MASTER with no slave (the baseline).
# HA_EXTRA adds lines to the master's [ha] section.
set -euo pipefail
mode=$1; shift
root=$(mktemp -d)
bin=$(dirname "$0")/../target/release
pids=()
trap 'for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait; rm -rf "$root"' EXIT
role=ASYNC_MASTER; [ "$mode" = sync ] && role=SYNC_MASTER
source "$(dirname "$0")/ha-pair.sh"
start_master "$role"
if [ "$mode" != none ]; then
  slave_config
  "$bin/actormq-broker" --config "$root/s.toml" > "$root/s.out" 2> "$root/s.err" &
  pids+=($!)
  for _ in $(seq 300); do
    curl -s "$metrics" | grep -q '^actormq_ha_slaves 1' && break
    sleep 0.1
  done
fi
# Let the allocator finish preparing files ahead (as scripts/bench-broker.sh does).
sleep 1
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
m0=$(cpu "${pids[0]}"); s0=0; [ "$mode" != none ] && s0=$(cpu "${pids[1]}")
"$bin/actormq" --broker "$addr" bench produce --json "$@" > "$root/bench.json" 2>/dev/null &
bench=$!
: > "$root/lag"
while kill -0 "$bench" 2>/dev/null; do
  curl -s "$metrics" | awk '/^actormq_ha_slave_lag_bytes/ {b=$2} /^actormq_ha_slave_lag_seconds/ {s=$2} END {if (b != "") print b, s}' >> "$root/lag"
  sleep 0.1
done
wait "$bench"
m1=$(cpu "${pids[0]}"); s1=0; [ "$mode" != none ] && s1=$(cpu "${pids[1]}")
echo "$((m1 - m0)) $((s1 - s0)) $(getconf CLK_TCK)" > "$root/cpu"
start=$(date +%s%N); caught=-1
if [ "$mode" != none ]; then
  for _ in $(seq 200); do
    lag=$(curl -s "$metrics" | awk '/^actormq_ha_slave_lag_bytes/ {print $2}')
    if [ "${lag:-1}" = 0 ]; then caught=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
    sleep 0.01
  done
fi
python3 - "$mode" "$root/bench.json" "$root/lag" "$caught" "$root/cpu" <<'PY'
import sys, json
mode, bench, lagf, caught, cpuf = sys.argv[1:]
j = json.load(open(bench))
rows = [l.split() for l in open(lagf) if l.strip()]
def cpu_line(master, slave, hz, messages):
    us = lambda ticks: ticks / hz * 1e6 / max(messages, 1)
    return (f"cpu_master_us={us(master):.2f} cpu_slave_us={us(slave):.2f} "
            f"cpu_client_us={j.get('client_cpu_us_per_msg', 0):.2f}")
def pct(vals, p):
    if not vals: return "-"
    vals = sorted(vals); return vals[min(len(vals) - 1, int(len(vals) * p))]
b = [float(r[0]) for r in rows]; s = [float(r[1]) for r in rows if len(r) > 1]
print(mode, json.dumps(j, separators=(",", ":")),
      f"lag_bytes_p50={pct(b, .5)} lag_bytes_p99={pct(b, .99)} lag_s_p50={pct(s, .5)} lag_s_p99={pct(s, .99)} caught_up_ms={caught}",
      cpu_line(*map(int, open(cpuf).read().split()), j["messages"]))
PY
