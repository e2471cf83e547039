#!/usr/bin/env bash
# Wait until every container of the compose project is healthy (compose v1 has no --wait).
# Usage: docker/wait-healthy.sh [TIMEOUT_SECONDS]   (compose flags come from the environment)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
timeout="${1:-300}"
deadline=$((SECONDS + timeout))
while :; do
    ids=$("$here/compose.sh" ps -q)
    [ -n "$ids" ] || { echo "no containers are running" >&2; exit 1; }
    # name and health (or plain state when a container has no healthcheck)
    report=$(docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $ids)
    pending=$(awk '$2 != "healthy"' <<<"$report")
    if [ -z "$pending" ]; then
        echo "all $(wc -l <<<"$report") containers healthy after $((SECONDS))s"
        exit 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "not healthy after ${timeout}s:" >&2
        echo "$pending" >&2
        for name in $(awk '{print $1}' <<<"$pending"); do
            echo "--- last logs of ${name#/}" >&2
            docker logs --tail 30 "${name#/}" >&2 || true
        done
        exit 1
    fi
    sleep 3
done
