#!/usr/bin/env bash
# Instructions per message of the broker under one `bench produce`, counted by callgrind: a
# measure of the send path's CPU cost that other load on the machine does not move (a throughput
# A/B on a busy 2-core box swings ±15%; this repeats within ~1%). Everything runs ~50x slower
# under valgrind, so batching differs from a real run: compare builds with it, not with msgs/s.
#   scripts/cg-produce.sh DIR LABEL [bench produce args...]
# CG_STORE='index_enabled = false' adds lines to the config's [store] section; CG_EXTRA='[ha]\n...'
# appends sections.
# DIR holds target/release (a checkout or a copy). Prints "LABEL messages=N ir_per_msg=M" and
# keeps the profile as /tmp/cg-LABEL.out (callgrind_annotate it to see where the instructions go).
set -euo pipefail
bin=$1/target/release; label=$2; shift 2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
printf '[server]\nlisten = "127.0.0.1:0"\n[store]\nroot = "%s/store"\n'"${CG_STORE:-}"'\n[log]\nlevel = "warn"\n[namesrv]\nlisten = "127.0.0.1:0"\n' "$root" > "$root/b.toml"
printf "${CG_EXTRA:-}\n" >> "$root/b.toml"
valgrind --tool=callgrind --callgrind-out-file="$root/cg.%p" \
  "$bin/actormq-broker" --config "$root/b.toml" > "$root/out" 2> "$root/err" &
vpid=$!
for _ in $(seq 600); do grep -q listening "$root/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/actormq listening on //p' "$root/out")
sleep 2
# Count only the run: zero after start-up, dump right after the load.
callgrind_control -z "$vpid" > /dev/null 2>&1
json=$("$bin/actormq" --broker "$addr" bench produce --json "$@" 2>/dev/null)
callgrind_control -d "$vpid" > /dev/null 2>&1
kill -INT "$vpid"; wait "$vpid" || true
dump=$(ls "$root"/cg.*.1)
ir=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")
n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["messages"])' "$json")
cp "$dump" "/tmp/cg-$label.out"
echo "$label messages=$n ir_per_msg=$((ir / n))"
