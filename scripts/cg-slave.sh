#!/usr/bin/env bash
# Instructions per message of an actormq slave replicating one `bench produce`, counted by
# callgrind (the slave's CPU work per replicated message: receive, check, store, consume queues,
# index). The master runs natively; the slave runs under valgrind, ~50x slower, so it lags and
# gets full transfers: compare builds with it, not with msgs/s. ROLE=SYNC_MASTER changes the
# master's role.
#   scripts/cg-slave.sh DIR LABEL [bench produce args...]
# DIR holds target/release. Prints "LABEL messages=N ir_per_msg=M lag=0" (lag: the master's last
# reading, 0 once caught up) and keeps the profile as /tmp/cg-LABEL.out.
set -euo pipefail
bin=$1/target/release; label=$2; shift 2
root=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait; rm -rf "$root"' EXIT
source "$(dirname "$0")/ha-pair.sh"
start_master "${ROLE:-ASYNC_MASTER}"
slave_config
valgrind --tool=callgrind --callgrind-out-file="$root/cg.%p" "$bin/actormq-broker" --config "$root/s.toml" > "$root/s.out" 2> "$root/s.err" &
vpid=$!; pids+=($vpid)
for _ in $(seq 600); do curl -s "$metrics" | grep -q '^actormq_ha_slaves 1' && break; sleep 0.1; done
sleep 3
callgrind_control -z "$vpid" > /dev/null 2>&1
json=$("$bin/actormq" --broker "$addr" bench produce --json "$@" 2>/dev/null)
for _ in $(seq 600); do
  lag=$(curl -s "$metrics" | awk '/^actormq_ha_slave_lag_bytes/ {print $2}')
  [ "${lag:-1}" = 0 ] && break; sleep 0.5
done
sleep 2
callgrind_control -d "$vpid" > /dev/null 2>&1
dump=$(ls "$root"/cg.*.1)
ir=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")
n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["messages"])' "$json")
cp "$dump" "/tmp/cg-$label.out"
echo "$label messages=$n ir_per_msg=$((ir / n)) lag=$lag"
