#!/usr/bin/env bash
# Runs the demo platform: a Celery worker (all queues) in the background and gunicorn in the
# foreground on http://127.0.0.1:8000. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/platform:$PWD"
PY=.venv/bin/python
mkdir -p var/log

$PY -m celery -A config.celery_app worker -Q default,stimuli,gpu --concurrency 2 --loglevel INFO \
    --hostname "demo@%h" >var/log/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null || true' EXIT INT TERM
echo "Celery worker started (pid $WORKER, log var/log/worker.log)"

echo "Serving http://127.0.0.1:8000/admin/ (Ctrl-C to stop)"
.venv/bin/gunicorn config.wsgi:application --bind 127.0.0.1:8000 --workers 2 --threads 4 \
    --access-logfile - --error-logfile - --log-level warning
