#!/usr/bin/env bash
# Interleaved A/B of `bench produce`: OLD and NEW are checkouts (or copies) whose
# target/release holds the two builds and whose scripts/bench-broker.sh starts them.
#   scripts/ab-produce.sh /path/old /path/new 5 > results.txt
# Each line: "<load> <old|new> <json>"; loads: 4x64 async, 1x1 async, 4x16 sync.
set -uo pipefail
old=$1 new=$2 pairs=${3:-5}
for _ in $(seq "$pairs"); do
  for load in a4x64 a1x1 s4x16; do
    case $load in
      a4x64) extra=''; args='--connections 4 --inflight 64';;
      a1x1) extra=''; args='--connections 1 --inflight 1';;
      s4x16) extra='[flush]\nmode = "sync"'; args='--connections 4 --inflight 16';;
    esac
    for side in old new; do
      dir=$old; [ "$side" = new ] && dir=$new
      echo "$load $side $("$dir/scripts/bench-broker.sh" "$extra" $args --duration 8 --size 128 2>/dev/null | tail -1)"
    done
  done
done
