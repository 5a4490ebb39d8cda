# One image for web (gunicorn), Celery worker and beat, and the Rista/PhonePe sandboxes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=kiosk_project.settings.production

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings but no secrets or services; give it throwaway values.
RUN SECRET_KEY=build ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.db REDIS_URL=redis://build:6379/0 \
    DJANGO_SETTINGS_MODULE=kiosk_project.settings.local python manage.py collectstatic --noinput -v 0

RUN useradd --system --uid 1001 kiosk && chown -R kiosk /app
USER kiosk
EXPOSE 8000
CMD ["gunicorn", "kiosk_project.wsgi", "-b", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--reuse-port", \
     "--threads", "4", "--timeout", "30", "--graceful-timeout", "10", "--access-logfile", "-"]
