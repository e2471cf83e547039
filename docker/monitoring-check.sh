#!/usr/bin/env bash
# Start the `monitoring` profile (Flower, Prometheus) beside the running stack, then check
# that Prometheus scrapes every target it is configured with: its HTTP API
# (/api/v1/targets) says health "up" for each, the gateway's among them.
# Usage: docker/monitoring-check.sh [TIMEOUT_SECONDS]   (the stack runs: make up; compose
# flags such as COMPOSE_PROJECT_NAME and COMPOSE_FILE come from the environment)
# Prometheus is asked from inside its own container, so no host port is needed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
timeout="${1:-300}"
deadline=$((SECONDS + timeout))
compose() { "$here/compose.sh" --profile monitoring "$@"; }

compose up -d --build flower prometheus
"$here/wait-healthy.sh" "$timeout"

# Prints one line per target; exits 0 only when there are targets, the gateway's included,
# and all are up.
read -r -d '' check <<'PY' || true
import json, sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:9090/api/v1/targets", timeout=5) as answer:
    targets = json.load(answer)["data"]["activeTargets"]
for t in targets:
    print(f"{t['labels'].get('job')} {t['scrapeUrl']} {t['health']} {t.get('lastError') or ''}")
jobs = {t["labels"].get("job") for t in targets}
sys.exit(0 if targets and "newsflow" in jobs and all(t["health"] == "up" for t in targets) else 1)
PY

while :; do
    if report=$(compose exec -T prometheus python -c "$check" 2>&1); then
        echo "$report"
        echo "all Prometheus targets up after ${SECONDS}s"
        exit 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "Prometheus targets not all up after ${timeout}s:" >&2
        echo "$report" >&2
        exit 1
    fi
    sleep 3
done
