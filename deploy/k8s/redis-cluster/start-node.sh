#!/bin/sh
# Starts one Redis Cluster node: `redis-server "$@"`, after two things Redis does not do itself.
#
# 1. It refreshes the addresses in the node's cluster config. That file (nodes.conf, on the node's
#    own volume) keeps the node's id, so a restarted node is the same node; it also holds every
#    other node's address as last seen, which is stale once that node restarted with another IP (a
#    pod elsewhere, a container recreated). A node restarted alone is found anyway (it pings the
#    others from its new address); when every node restarted, none could reach another. Each line
#    also carries the node's announced hostname (its stable DNS name), so the addresses are looked
#    up again here, before Redis reads them. The other pods start at the same moment
#    (podManagementPolicy Parallel) and a name has no DNS record until its pod has an IP: each
#    lookup is retried, REDIS_RESOLVE_SECONDS (default 30) in all; a name that never resolves keeps
#    its old address.
#
# 2. A node that was a master holding slots when it stopped waits, before redis-server starts, for
#    its replica to take over: 2 × the node timeout + 2 s from this script's start (the other nodes
#    flag it failing after one node timeout and agree on it within about half another; its replica
#    then waits 0.5-1 s, and 1 s more per replica ranked ahead of it, before it asks for votes).
#    Back sooner, it would still be the master, holding what its data set held — its append-only
#    file, short of up to its last second of writes; nothing where it keeps no data, as in Compose
#    — and its replica would resync from it, dropping writes a dispatcher had confirmed with WAIT.
#    Back later, it learns that its slots moved and becomes the new master's replica, copying the
#    data from it. Not covered: when no replica can take over — its replica is down too, or most
#    masters are, as in a whole-cluster restart — the masters come back as masters with their own
#    data (up to `appendfsync everysec`'s last second short, `appendfsync always` closing that at a
#    disk flush per write; in Compose, nothing), only this much later.
#
# Used by deploy/k8s/redis-cluster (a StatefulSet) and deploy/compose/compose.cluster.yaml.
# REDIS_NODES_CONF: where the cluster config is (default /data/nodes.conf, as --cluster-config-file).
# REDIS_CLUSTER_NODE_TIMEOUT: the node timeout in ms when the arguments give no
# --cluster-node-timeout (the manifests give one). Its default is Redis's own, 15000: a wait
# too long only delays the node, one too short brings the lost writes back.
set -eu

started=$(date +%s)
# As PID 1 (a container) the shell ignores a SIGTERM it has no trap for: a pod stopped while this
# waits would take its whole grace period. (A `sleep` in the foreground finishes before the trap
# runs: the long wait below sleeps in the background for that.) redis-server, exec'd, has its own.
sleeping=""
trap 'if [ -n "$sleeping" ]; then kill "$sleeping" 2>/dev/null || :; fi; exit 143' TERM INT
conf=${REDIS_NODES_CONF:-/data/nodes.conf}

node_timeout=${REDIS_CLUSTER_NODE_TIMEOUT:-15000}
previous=""
for arg in "$@"; do
  if [ "$previous" = --cluster-node-timeout ]; then node_timeout=$arg; fi
  previous=$arg
done
case $node_timeout in
  '' | *[!0-9]*)
    echo "start-node: the node timeout \"$node_timeout\" is not a number of milliseconds" >&2
    exit 1
    ;;
esac
# Rounded up to whole seconds (POSIX sleep).
takeover_seconds=$(((2 * node_timeout + 2000 + 999) / 1000))

# A line: <id> <ip>:<port>@<bus port>,<hostname>[,<aux fields>] <flags> <master id> <ping sent>
# <pong received> <config epoch> <link state> <slot or range> …, then a `vars` line.
was_master_with_slots() {
  [ -f "$conf" ] && awk '
    $3 ~ /(^|,)myself(,|$)/ && $3 ~ /(^|,)master(,|$)/ && NF > 8 { found = 1 }
    END { exit !found }
  ' "$conf"
}

resolve_until=$((started + ${REDIS_RESOLVE_SECONDS:-30}))
# The first address of a name, retried (once a second) until it resolves or the time is up.
lookup() {
  while :; do
    found=$(getent hosts "$1" | head -n 1 | cut -d' ' -f1)
    if [ -n "$found" ] || [ "$(date +%s)" -ge "$resolve_until" ]; then
      printf '%s' "$found"
      return
    fi
    sleep 1
  done
}

if was_master_with_slots; then wait_for_takeover=yes; else wait_for_takeover=no; fi

if [ -f "$conf" ]; then
  fresh="$conf.fresh"
  : >"$fresh"
  while read -r id address rest; do
    hostname=$(printf '%s\n' "$address" | cut -s -d, -f2)
    ip=""
    if [ -n "$hostname" ]; then
      ip=$(lookup "$hostname")
      if [ -z "$ip" ]; then echo "start-node: $hostname does not resolve; its old address is kept" >&2; fi
    fi
    if [ -n "$ip" ]; then
      endpoint=${address%%,*}
      address="$ip:${endpoint##*:}${address#"$endpoint"}"
    fi
    printf '%s %s %s\n' "$id" "$address" "$rest" >>"$fresh"
  done <"$conf"
  mv "$fresh" "$conf"
fi

if [ "$wait_for_takeover" = yes ]; then
  remaining=$((started + takeover_seconds - $(date +%s)))
  if [ "$remaining" -gt 0 ]; then
    echo "start-node: this node was a master; waiting ${remaining} s for its replica to take over" >&2
    sleep "$remaining" &
    sleeping=$!
    wait "$sleeping"
  fi
fi

exec redis-server "$@"
