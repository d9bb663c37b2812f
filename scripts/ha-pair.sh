# Sourced by scripts/bench-ha.sh and scripts/cg-slave.sh: a release master and its slave on
# loopback, each on a temp store under $root, logging at warn, no name server.
#   start_master ROLE   starts "$bin/actormq-broker" as ROLE (HA_EXTRA adds lines to its [ha]
#                       section); sets addr, ha, metrics; appends its pid to pids
#   slave_config        writes $root/s.toml: a SLAVE of that master

start_master() {
  cat > "$root/m.toml" <<CONF
[server]
listen = "127.0.0.1:0"
[store]
root = "$root/master"
[log]
level = "warn"
[namesrv]
enabled = false
[metrics]
listen = "127.0.0.1:0"
[cluster]
role = "$1"
[ha]
listen = "127.0.0.1:0"
${HA_EXTRA:-}
CONF
  "$bin/actormq-broker" --config "$root/m.toml" > "$root/m.out" 2> "$root/m.err" &
  pids+=($!)
  for _ in $(seq 300); do grep -q listening "$root/m.out" 2>/dev/null && break; sleep 0.1; done
  addr=$(sed -n 's/actormq listening on //p' "$root/m.out")
  ha=$(sed -n 's/actormq ha on //p' "$root/m.out")
  metrics=$(sed -n 's|actormq metrics on http://||p' "$root/m.out")
}

slave_config() {
  cat > "$root/s.toml" <<CONF
[server]
listen = "127.0.0.1:0"
[store]
root = "$root/slave"
[log]
level = "warn"
[namesrv]
enabled = false
[cluster]
role = "SLAVE"
broker_id = 1
[ha]
master_addr = "$ha"
master_broker_addr = "$addr"
CONF
}
