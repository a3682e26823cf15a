#!/usr/bin/env bash
# Runs the demo platform: a Celery worker (all queues; --beat runs the job sweeper, common.jobs) and
# gunicorn on http://127.0.0.1:8000, then the demo pipeline (generation on the worker, simulated
# participants, dataset, fit, scores).
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/platform:$PWD"
# No trunk weights can be downloaded here: the demo's LPIPS uses a seeded random trunk unless told.
export PERCEPTLAB_DEFAULT_TRUNK="${PERCEPTLAB_DEFAULT_TRUNK:-random}"
PY=.venv/bin/python
mkdir -p var/log

$PY -m celery -A config.celery_app worker -Q default,stimuli,gpu --concurrency 2 --beat --loglevel INFO \
    --hostname "demo@%h" >var/log/worker.log 2>&1 &
WORKER=$!
.venv/bin/gunicorn config.wsgi:application --bind 127.0.0.1:8000 --workers 2 --threads 4 \
    --access-logfile var/log/access.log --error-logfile var/log/web.log &
WEB=$!
trap 'kill $WORKER $WEB 2>/dev/null; wait $WORKER $WEB 2>/dev/null || true' EXIT INT TERM
echo "Celery worker (pid $WORKER, log var/log/worker.log) and gunicorn (pid $WEB) started"

for _ in $(seq 1 60); do
    curl -fs http://127.0.0.1:8000/api/health/ >/dev/null 2>&1 && break
    sleep 0.5
done

$PY manage.py demo_run --base-url http://127.0.0.1:8000 || echo "The demo pipeline stopped early (see above); the platform keeps running."
echo "Serving http://127.0.0.1:8000/admin/ (Ctrl-C to stop)"
wait $WEB
