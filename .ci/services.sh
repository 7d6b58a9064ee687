#!/usr/bin/env bash
# Starts every server the tests talk to, if it is not already answering, and
# prints the environment the tests read. Idempotent: safe to run twice.
#   eval "$(bash .ci/services.sh)"
set -euo pipefail
log() { echo "services: $*" >&2; }
up() { timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }
wait_up() { for _ in $(seq 1 100); do up "$1" && return 0; sleep 0.1; done; log "port $1 did not open"; return 1; }

# Redis, single node.
if ! up 6379; then
  log "starting redis on 6379"
  redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no >&2
  wait_up 6379
fi

# PostgreSQL.
if ! up 5432; then
  log "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
  wait_up 5432
fi

# Memcached: two servers, for the server-list path.
if ! command -v memcached >/dev/null; then
  log "installing memcached"
  (apt-get update -qq && apt-get install -y -qq memcached) >&2
fi
for p in 11211 11212; do
  if ! up $p; then
    log "starting memcached on $p"
    memcached -d -u root -l 127.0.0.1 -p $p -m 64 -I 2m >&2
    wait_up $p
  fi
done

# Redis Cluster: three masters on loopback, no replicas.
CLUSTER_PORTS="7101 7102 7103"
CLUSTER_DIR=${CACHING_CLUSTER_DIR:-/tmp/caching-redis-cluster}
if ! redis-cli -p 7101 cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
  log "starting redis cluster on $CLUSTER_PORTS"
  mkdir -p "$CLUSTER_DIR"
  for p in $CLUSTER_PORTS; do
    if ! up $p; then
      mkdir -p "$CLUSTER_DIR/$p"
      rm -f "$CLUSTER_DIR/$p/nodes.conf"
      redis-server --daemonize yes --port $p --bind 127.0.0.1 --dir "$CLUSTER_DIR/$p" \
        --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
        --save '' --appendonly no --logfile "$CLUSTER_DIR/$p/redis.log" >&2
      wait_up $p
    fi
  done
  if ! redis-cli -p 7101 cluster info | grep -q 'cluster_known_nodes:3'; then
    redis-cli --cluster create 127.0.0.1:7101 127.0.0.1:7102 127.0.0.1:7103 --cluster-replicas 0 --cluster-yes >&2
  fi
  for _ in $(seq 1 100); do
    redis-cli -p 7101 cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
fi

# Redis Sentinel: one master (6390), one sentinel (26390) watching it as "caching".
if ! up 6390; then
  log "starting redis 6390 for sentinel"
  redis-server --daemonize yes --port 6390 --bind 127.0.0.1 --save '' --appendonly no >&2
  wait_up 6390
fi
if ! up 26390; then
  log "starting sentinel on 26390"
  mkdir -p /tmp/caching-sentinel
  cat > /tmp/caching-sentinel/sentinel.conf <<CONF
port 26390
bind 127.0.0.1
daemonize yes
logfile /tmp/caching-sentinel/sentinel.log
sentinel monitor caching 127.0.0.1 6390 1
sentinel down-after-milliseconds caching 2000
CONF
  redis-server /tmp/caching-sentinel/sentinel.conf --sentinel >&2
  wait_up 26390
fi

cat <<ENV
export CACHING_REDIS_ADDR=127.0.0.1:6379
export CACHING_REDIS_CLUSTER=127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
export CACHING_REDIS_SENTINEL=127.0.0.1:26390
export CACHING_REDIS_SENTINEL_MASTER=caching
export CACHING_MEMCACHED=127.0.0.1:11211,127.0.0.1:11212
export CACHING_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
ENV
