#!/usr/bin/env bash
# Interleaved A/B of `bench consume` (1M backlog, batch 32, one pull in flight per queue, 3 reads per
# broker start): scripts/ab-consume.sh /path/old /path/new 5 > results.txt (target/release of each).
old=$1 new=$2 pairs=${3:-5}
run_side() {
  local bin=$1 side=$2 root; root=$(mktemp -d)
  printf '[server]\nlisten = "127.0.0.1:0"\n[store]\nroot = "%s/store"\n[log]\nlevel = "warn"\n[namesrv]\nlisten = "127.0.0.1:0"\n' "$root" > "$root/b.toml"
  "$bin/actormq-broker" --config "$root/b.toml" > "$root/out" 2> "$root/err" &
  local pid=$!
  for _ in $(seq 300); do grep -q listening "$root/out" 2>/dev/null && break; sleep 0.1; done
  local addr; addr=$(sed -n 's/actormq listening on //p' "$root/out")
  "$bin/actormq" --broker "$addr" bench consume --topic Backlog --fill 1000000 --batch 32 --inflight 1 --json > /dev/null 2>&1
  for i in 1 2 3; do
    echo "$side $("$bin/actormq" --broker "$addr" bench consume --topic Backlog --batch 32 --inflight 1 --json 2>/dev/null | tail -1)" 
  done
  kill -INT $pid; wait $pid || true; rm -rf "$root"
}
for _ in $(seq "$pairs"); do
  run_side "$old/target/release" old
  run_side "$new/target/release" new
done
