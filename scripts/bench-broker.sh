#!/usr/bin/env bash
# Starts a release broker on a fresh temp store with extra config lines, runs one
# `actormq bench produce` with the given arguments, prints its JSON line, stops the broker.
#   scripts/bench-broker.sh '[flush]\nmode = "sync"' --connections 4 --inflight 16 --duration 5
set -euo pipefail
extra=$1; shift
root=$(mktemp -d)
pid=
# A failed step still stops the broker and removes its store.
trap '[ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; wait; rm -rf "$root"' EXIT
bin=$(dirname "$0")/../target/release
printf '[server]\nlisten = "127.0.0.1:0"\n[store]\nroot = "%s/store"\n[log]\nlevel = "warn"\n[namesrv]\nlisten = "127.0.0.1:0"\n' "$root" > "$root/b.toml"
printf "$extra\n" | awk -v f="$root/b.toml" '
  BEGIN { while ((getline l < f) > 0) { if (l ~ /^\[/) { s=l; order[++n]=s } else body[s]=body[s] l "\n" } }
  /^\[/ { s=$0; if (!(s in body)) { order[++n]=s; body[s]="" } next }
  NF { split($0, kv, "="); k=kv[1]; gsub(/ /, "", k); out=""; m=split(body[s], ls, "\n");
       for (i=1;i<=m;i++) { lk=ls[i]; sub(/=.*/, "", lk); gsub(/ /, "", lk); if (ls[i] != "" && lk != k) out=out ls[i] "\n" }
       body[s]=out $0 "\n" }
  END { for (i=1;i<=n;i++) printf "%s\n%s", order[i], body[order[i]] > f }'
"$bin/actormq-broker" --config "$root/b.toml" > "$root/out" 2> "$root/err" &
pid=$!
for _ in $(seq 300); do grep -q listening "$root/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/actormq listening on //p' "$root/out")
# Let the allocator finish the files it prepares ahead (zero-filling them takes seconds with
# warm_mapped_file, the default in sync mode) so that its I/O is not part of the measurement.
for _ in $(seq 300); do
  stats=$("$bin/actormq" --broker "$addr" stats --json)
  grep -q '"mailbox.file_allocator.depth": "0"' <<<"$stats" && break
  sleep 0.1
done
"$bin/actormq" --broker "$addr" bench produce --json "$@"
