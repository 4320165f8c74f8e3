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
# 2. A node that was a master holding slots, with a replica, when it stopped waits before
#    redis-server starts until its replica has taken over. Back sooner, it would still be the
#    master, holding what its data set held — its append-only file, short of up to its last second
#    of writes; nothing where it keeps no data, as in Compose — and its replica would resync from
#    it, dropping writes a dispatcher had confirmed with WAIT. Back after, it learns that its slots
#    moved and becomes the new master's replica, copying the data from it. So it asks the other
#    nodes (CLUSTER NODES, once a second) until one says its slots are held elsewhere. A takeover
#    needs the votes of most masters: while fewer of the other masters answer than that (a restart
#    of the whole cluster, or of most masters at once), none can happen, and the node starts after
#    2 × the node timeout + 2 s (time enough for the others to come back and be asked). However it
#    goes, it starts after 8 × the node timeout + 4 s (a takeover that needed a second election).
#    A node that had no replica starts at once: no one could take over.
#    Not covered: when no replica can take over, the masters come back as masters with their own
#    data (up to `appendfsync everysec`'s last second short, `appendfsync always` closing that at
#    a disk flush per write; in Compose, nothing).
#
# Used by deploy/k8s/redis-cluster (a StatefulSet) and deploy/compose/compose.cluster.yaml.
# REDIS_NODES_CONF: where the cluster config is (default /data/nodes.conf, as --cluster-config-file).
# REDIS_CLUSTER_NODE_TIMEOUT: the node timeout in ms when the arguments give no
# --cluster-node-timeout (the manifests give one). Its default is Redis's own, 15000.
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
# In whole seconds, rounded up.
seconds() { printf '%s' $((($1 + 999) / 1000)); }
others_seconds=$(seconds $((2 * node_timeout + 2000)))
give_up_seconds=$(seconds $((8 * node_timeout + 4000)))

# A line: <id> <ip>:<port>@<bus port>,<hostname>[,<aux fields>] <flags> <master id> <ping sent>
# <pong received> <config epoch> <link state> <slot or range> …, then a `vars` line.
was_master_with_slots() {
  [ -f "$conf" ] && awk '
    $3 ~ /(^|,)myself(,|$)/ && $3 ~ /(^|,)master(,|$)/ && NF > 8 { found = 1 }
    END { exit !found }
  ' "$conf"
}

# This node's id, and whether some node is its replica.
me=""
if [ -f "$conf" ]; then me=$(awk '$3 ~ /(^|,)myself(,|$)/ { print $1 }' "$conf"); fi
has_replica() {
  awk -v me="$me" '$4 == me { found = 1 } END { exit !found }' "$conf"
}

# Asks every other node (at its refreshed address) how it sees this one: prints "moved" once one
# says that this node holds no slots now or is a replica, else the number of other masters holding
# slots (by nodes.conf) that answered. One second at most per node.
survey() {
  answered=0
  while read -r id address flags rest; do
    if [ "$id" = "$me" ] || [ "$id" = vars ]; then continue; fi
    endpoint=${address%%,*}
    host_port=${endpoint%@*}
    view=$(timeout 1 redis-cli -h "${host_port%:*}" -p "${host_port##*:}" cluster nodes </dev/null 2>/dev/null) || continue
    case $view in *myself*) ;; *) continue ;; esac
    if printf '%s\n' "$view" | awk -v me="$me" '
      $1 == me && ($3 ~ /(^|,)slave(,|$)/ || NF <= 8) { found = 1 }
      END { exit !found }
    '; then
      printf moved
      return
    fi
    # A master holding slots: its line has fields past the link state.
    case ,$flags, in *,master,*) if [ -n "$(printf '%s' "$rest" | cut -s -d' ' -f6)" ]; then answered=$((answered + 1)); fi ;; esac
  done <"$conf"
  printf '%s' "$answered"
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

if was_master_with_slots && has_replica; then wait_for_takeover=yes; else wait_for_takeover=no; fi

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
  # The votes a takeover needs, from the other masters: most of the masters holding slots, this
  # one counted among them (as Redis counts its quorum).
  masters=$(awk '$3 ~ /(^|,)master(,|$)/ && NF > 8 { n++ } END { print n + 0 }' "$conf")
  quorum=$((masters / 2 + 1))
  echo "start-node: this node was a master; waiting for its replica to take over" >&2
  while :; do
    verdict=$(survey)
    now=$(date +%s)
    if [ "$verdict" = moved ]; then
      echo "start-node: its replica took over; starting (as that one's replica)" >&2
      break
    fi
    if [ "$now" -ge $((started + give_up_seconds)) ]; then
      echo "start-node: no takeover in ${give_up_seconds} s; starting as the master it was" >&2
      break
    fi
    if [ "$now" -ge $((started + others_seconds)) ] && [ "$verdict" -lt "$quorum" ]; then
      echo "start-node: $verdict other masters answer, a takeover needs $quorum; starting as the master it was" >&2
      break
    fi
    sleep 1 &
    sleeping=$!
    wait "$sleeping"
  done
fi

exec redis-server "$@"
