#!/bin/sh
# Readiness of one Redis Cluster node: a master (or a node not in a cluster yet) is ready when it
# answers; a replica only once it is linked to its master and not copying its data. A replica that
# answered PING while still loading would let a rolling update take its master down next, and the
# master's slots would go to a replica without their data.
#
# Used by deploy/k8s/redis-cluster (readinessProbe) and deploy/compose/compose.cluster.yaml
# (healthcheck). REDIS_PORT: the node's port (default 6379).
set -eu

info=$(redis-cli -p "${REDIS_PORT:-6379}" info replication | tr -d '\r')
case "$info" in
  *role:master*) exit 0 ;;
esac
case "$info" in
  *master_link_status:up*) ;;
  *)
    echo "replica not linked to its master"
    exit 1
    ;;
esac
case "$info" in
  *master_sync_in_progress:0*) exit 0 ;;
esac
echo "replica still copying its master's data"
exit 1
