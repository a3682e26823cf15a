# One image for web, worker and gpu-worker (compose picks the command).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app/platform:/app DJANGO_SETTINGS_MODULE=config.settings.base
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm libpq5 && rm -rf /var/lib/apt/lists/*
# torch first (its own layer): CUDA wheels from PyPI by default; a CPU-only index can be passed.
ARG TORCH_PINS="torch==2.14.1 torchvision==0.29.1"
ARG TORCH_INDEX_URL=""
RUN pip install $TORCH_PINS ${TORCH_INDEX_URL:+--index-url $TORCH_INDEX_URL}
COPY pyproject.toml README.md ./
COPY metrics ./metrics
COPY experiments ./experiments
RUN pip install -e '.[ml,s3,vdp]'
COPY . .
RUN if [ -f frontend/package.json ]; then cd frontend && npm ci && npm run build; fi \
 && SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput -v0
RUN useradd --create-home perceptlab && mkdir -p /data && chown perceptlab /data
USER perceptlab
ENV PERCEPTLAB_VAR_DIR=/data/var MEDIA_ROOT=/data/media STATIC_ROOT=/app/var/static
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
