FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
# Static files built as production serves them: with DEBUG off, so whitenoise's manifest of
# hashed names is written (without it every page with a static file answers 500). collectstatic
# reads no secret: the placeholders only pass the production settings' checks, and stay out of
# the image's environment. tests/config/test_production_start.py runs this line and the CMD.
RUN DEBUG=false ALLOWED_HOSTS=localhost SECRET_KEY=collectstatic-placeholder-not-a-secret-0000 \
    FIELD_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --no-input
EXPOSE 8000
# gunicorn supervising WEB_CONCURRENCY uvicorn workers on one port (config/web.py); their access
# lines go through the application's logging and its redaction.
CMD ["python", "-m", "config.web", "-b", "0.0.0.0", "-p", "8000"]
