#!/usr/bin/env bash
# Instructions per message of the broker under one `bench consume` of a backlog, counted by
# callgrind (the pull path's counterpart of scripts/cg-produce.sh: other load on the machine does
# not move it). The backlog (`--fill`, CG_FILL messages, default 50000) is written before counting
# starts; only the read is counted.
#   scripts/cg-consume.sh DIR LABEL [bench consume args...]
# DIR holds target/release. Prints "LABEL messages=N ir_per_msg=M" and keeps the profile as
# /tmp/cg-LABEL.out. CG_CLIENT_DIR (default DIR) names the build whose `actormq bench consume`
# drives it (a newer client's options against an older broker).
set -euo pipefail
bin=$1/target/release; label=$2
cli=${CG_CLIENT_DIR:-$1}/target/release/actormq; shift 2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
printf '[server]\nlisten = "127.0.0.1:0"\n[store]\nroot = "%s/store"\n[log]\nlevel = "warn"\n[namesrv]\nlisten = "127.0.0.1:0"\n' "$root" > "$root/b.toml"
valgrind --tool=callgrind --callgrind-out-file="$root/cg.%p" \
  "$bin/actormq-broker" --config "$root/b.toml" > "$root/out" 2> "$root/err" &
vpid=$!
for _ in $(seq 600); do grep -q listening "$root/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/actormq listening on //p' "$root/out")
"$cli" --broker "$addr" bench consume --topic Backlog --fill "${CG_FILL:-50000}" --json "$@" > /dev/null 2>&1
sleep 1
callgrind_control -z "$vpid" > /dev/null 2>&1
json=$("$cli" --broker "$addr" bench consume --topic Backlog --json "$@" 2>/dev/null | tail -1)
callgrind_control -d "$vpid" > /dev/null 2>&1
kill -INT "$vpid"; wait "$vpid" || true
dump=$(ls "$root"/cg.*.1)
ir=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")
n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["messages"])' "$json")
cp "$dump" "/tmp/cg-$label.out"
echo "$label messages=$n ir_per_msg=$((ir / n))"
