#!/bin/sh
# Starts one Redis Cluster node: `redis-server "$@"`, after refreshing the addresses in its cluster
# config. That file (nodes.conf, on the node's own volume) keeps the node's id, so a restarted node
# is the same node; it also holds every other node's address as last seen, which is stale once that
# node restarted with another IP (a pod elsewhere, a container recreated). A node restarted alone is
# found anyway (it pings the others from its new address); when every node restarted, none could
# reach another. Each line also carries the node's announced hostname (its stable DNS name), so the
# addresses are looked up again here, before Redis reads them.
#
# Used by deploy/k8s/redis-cluster (a StatefulSet) and deploy/compose/compose.cluster.yaml.
# REDIS_NODES_CONF: where the cluster config is (default /data/nodes.conf, as --cluster-config-file).
set -eu

conf=${REDIS_NODES_CONF:-/data/nodes.conf}
if [ -f "$conf" ]; then
  fresh="$conf.fresh"
  : >"$fresh"
  # A node's line: <id> <ip>:<port>@<bus port>,<hostname>[,<aux fields>] <flags> …
  while read -r id address rest; do
    hostname=$(printf '%s\n' "$address" | cut -s -d, -f2)
    ip=""
    if [ -n "$hostname" ]; then
      ip=$(getent hosts "$hostname" | head -n 1 | cut -d' ' -f1)
    fi
    if [ -n "$ip" ]; then
      endpoint=${address%%,*}
      address="$ip:${endpoint##*:}${address#"$endpoint"}"
    fi
    printf '%s %s %s\n' "$id" "$address" "$rest" >>"$fresh"
  done <"$conf"
  mv "$fresh" "$conf"
fi

exec redis-server "$@"
