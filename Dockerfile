# Detour API / worker image: slim, non-root; migrates, then serves.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DETOUR_MODE=production
RUN useradd --create-home --uid 10001 detour
COPY --from=build /install /usr/local
WORKDIR /srv/detour
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
USER detour
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["sh", "-c", "detour migrate && exec detour serve --host 0.0.0.0 --port 8000 --workers ${DETOUR_WEB_PROCESSES:-2}"]
