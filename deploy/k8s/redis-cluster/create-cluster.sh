#!/bin/sh
# Forms the Redis Cluster once: the nodes of REDIS_NODES (host:port, comma separated: all of them)
# become masters and replicas, CLUSTER_REPLICAS (default 1) per master. Safe to run again: a
# cluster that exists is left as it is — it is never made again over nodes that know each other.
#
# Used by the Job redis-cluster-create (deploy/k8s/redis-cluster) and by Compose's
# redis-cluster-init (deploy/compose/compose.cluster.yaml). Exits 1 when the nodes do not all answer
# within WAIT_SECONDS (default 300) or belong to a cluster that is not ok (a person looks: DEPLOY.md).
set -eu

nodes=$(printf '%s' "$REDIS_NODES" | tr ',' ' ')
first=${nodes%% *}
deadline=$(($(date +%s) + ${WAIT_SECONDS:-300}))

cli() {
  node=$1
  shift
  redis-cli -h "${node%:*}" -p "${node##*:}" "$@"
}

# One field of a node's CLUSTER INFO (empty when it does not answer).
info() {
  cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

before_deadline() {
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "create-cluster: $1 after ${WAIT_SECONDS:-300} s" >&2
    exit 1
  fi
  sleep 1
}

# The nodes may still be starting.
for node in $nodes; do
  until [ "$(cli "$node" ping 2>/dev/null)" = PONG ]; do before_deadline "$node does not answer"; done
done

if [ "$(info "$first" cluster_state)" = ok ]; then
  echo "create-cluster: the cluster exists (cluster_state:ok); nothing to do"
  exit 0
fi
for node in $nodes; do
  if [ "$(info "$node" cluster_known_nodes)" != 1 ]; then
    echo "create-cluster: $node already knows other nodes, but the cluster is not ok: left as it is" >&2
    exit 1
  fi
done

# shellcheck disable=SC2086 # one argument per node
redis-cli --cluster create $nodes --cluster-replicas "${CLUSTER_REPLICAS:-1}" --cluster-yes

# Formed once every node says so (the state spreads by gossip).
for node in $nodes; do
  until [ "$(info "$node" cluster_state)" = ok ]; do before_deadline "$node is not ok"; done
done
echo "create-cluster: formed over $nodes"
