# One image for web, worker and beat (docker-compose.yml chooses the command).
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund && npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_ENV=production
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
COPY --from=assets /src/static/vendor ./static/vendor
# collectstatic needs the secrets production settings require to import them; these are thrown away with
# the build layer. var/media exists in the image so that the compose volume mounted there belongs to app.
RUN SECRET_KEY=build-only-not-secret GATEWAY_WEBHOOK_SECRET=build-only-not-secret-either \
    python manage.py collectstatic --noinput \
    && useradd --create-home app && mkdir -p var/media && chown -R app var
USER app
EXPOSE 8000
CMD ["gunicorn", "smsplatform.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
