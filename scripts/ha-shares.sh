#!/usr/bin/env bash
# The replication shares (issue 14's speed criterion): N interleaved rounds of
# `scripts/bench-ha.sh none|async|sync` at 4x16, 128 B, 8 s; per round the ASYNC and SYNC rates as
# shares of the no-slave rate, and the CPU model (no-slave CPU per message of master + load
# generator over that of master + slave + load generator); then the medians.
#   scripts/ha-shares.sh N [OUT]     (OUT keeps one line per run: mode rate cpu_master cpu_slave cpu_client)
set -euo pipefail
n=$1; out=${2:-$(mktemp)}; : > "$out"
here=$(dirname "$0")
for _ in $(seq "$n"); do
  for mode in none async sync; do
    "$here/bench-ha.sh" "$mode" --connections 4 --inflight 16 --duration 8 --size 128 2>/dev/null |
      python3 -c '
import sys, json
for l in sys.stdin:
    p = l.split(" ", 2)
    if p[0] in ("none", "async", "sync"):
        j = json.loads(p[1]); kv = dict(x.split("=") for x in p[2].split())
        print(p[0], int(j["msgs_per_sec"]), kv["cpu_master_us"], kv["cpu_slave_us"], kv["cpu_client_us"])
' >> "$out"
  done
done
python3 - "$out" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
rounds, cur = [], {}
for mode, rate, m, s, c in rows:
    cur[mode] = dict(rate=int(rate), cpu=float(m) + float(s) + float(c), m=float(m), s=float(s), c=float(c))
    if mode == "sync":
        rounds.append(cur); cur = {}
rounds = [r for r in rounds if len(r) == 3]
print("round    none   async    sync | share async sync | model async sync")
for i, r in enumerate(rounds, 1):
    a, s = (r[k]["rate"] / r["none"]["rate"] for k in ("async", "sync"))
    ma, ms = (r["none"]["cpu"] / r[k]["cpu"] for k in ("async", "sync"))
    print(f"{i:5d} {r['none']['rate']:7d} {r['async']['rate']:7d} {r['sync']['rate']:7d} | {a:.3f} {s:.3f} | {ma:.3f} {ms:.3f}")
med = st.median
for k in ("none", "async", "sync"):
    print(f"{k:5s} median {int(med(r[k]['rate'] for r in rounds)):7d} msgs/s; CPU us/msg master "
          f"{med(r[k]['m'] for r in rounds):.2f} slave {med(r[k]['s'] for r in rounds):.2f} "
          f"client {med(r[k]['c'] for r in rounds):.2f}")
for k in ("async", "sync"):
    shares = [r[k]["rate"] / r["none"]["rate"] for r in rounds]
    model = [r["none"]["cpu"] / r[k]["cpu"] for r in rounds]
    print(f"{k}: share median of rounds {med(shares):.3f}, of the medians "
          f"{med(r[k]['rate'] for r in rounds) / med(r['none']['rate'] for r in rounds):.3f}; model {med(model):.3f}")
PY
