# Image of the wuye application: one image for `wuye migrate`, `wuye worker`
# and the web app (the default command). Built by docker-compose.yml.

# --- build: a virtualenv with wuye and its dependencies ----------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from pyproject.toml alone, so that this layer is reused
# for as long as the dependency list does not change.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(deps))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .

# Compile the translation catalogs (the .mo files are not in git) before the
# package is built, so that they are installed as package data. A broken
# catalog fails the build.
RUN if [ -d ui/locale ]; then pybabel compile -d ui/locale; fi

# Check from outside the source tree that the installed package is complete.
RUN pip install --no-deps . \
    && cd / \
    && python -c "import api, activities, domain, store.migrate, ui, workflows, wuye.settings" \
    && test -x /opt/venv/bin/wuye

# --- runtime: the virtualenv only, run by an unprivileged user ---------------
FROM python:3.11-slim

RUN groupadd --system --gid 10001 wuye \
    && useradd --system --uid 10001 --gid wuye --home-dir /app \
        --no-create-home --shell /usr/sbin/nologin wuye \
    && mkdir /app \
    && chown wuye:wuye /app

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WUYE_ENV=production

# uvicorn's worker processes: one Python process runs one request's code at a
# time, so a web container runs as many as it has cores.
ENV WEB_CONCURRENCY=2

WORKDIR /app
USER wuye

EXPOSE 8000

CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
