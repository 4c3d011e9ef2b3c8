"""docker-compose.yml, the production shape, checked without Docker (no engine on the CI machine): its services,
healthchecks, dependencies and volumes, the database URLs, ports and host names against gunicorn's bind and the
settings, and the Celery index worker."""

from __future__ import annotations

from urllib.parse import urlsplit

import environ
import pytest
from django.http.request import host_validation_re

from testkit import REPO, env_example
from tests.repository.deploy import (
    APP_SERVICES,
    DB_SERVICES,
    SCALE_SERVICES,
    Image,
    aliases,
    as_mapping,
    container_env,
    gunicorn_bind,
    healthcheck_url_port,
    published_container_ports,
)

pytestmark = pytest.mark.repository


def test_every_app_service_reads_env_file_and_builds_from_repo_root(compose):
    for service in APP_SERVICES:
        spec = compose["services"][service]
        container_env(compose, service)  # asserts env_file: .env
        assert spec["build"]["context"] == "."
        assert (REPO / spec["build"]["dockerfile"]) == REPO / service / "Dockerfile"
        assert (REPO / service / "Dockerfile").is_file()


# --- services, healthchecks, dependencies, volumes --------------------------------------------------


def test_compose_has_the_services_each_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) == set(APP_SERVICES) | DB_SERVICES | SCALE_SERVICES
    for name, spec in services.items():
        test = (spec.get("healthcheck") or {}).get("test")
        assert test and test != ["NONE"], f"{name} has no healthcheck"
        assert not spec["healthcheck"].get("disable"), name
    for name in DB_SERVICES:
        assert services[name]["image"].startswith("pgvector/pgvector:"), name
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"])


def test_depends_on_waits_for_healthy_services(compose):
    services = compose["services"]
    for name, spec in services.items():
        depends_on = spec.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions (mapping form)"
        for dependency, condition in depends_on.items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert condition.get("condition") == "service_healthy", f"{name} -> {dependency}"
            assert services[dependency].get("healthcheck"), f"{dependency} has no healthcheck to wait for"
    assert set(services["sticker_service"]["depends_on"]) == {"sticker_db", "search_service"}
    assert set(services["search_service"]["depends_on"]) == {"search_db"}


def test_databases_and_media_live_on_named_volumes(compose):
    declared = set(compose.get("volumes") or {})

    def named_mounts(spec) -> dict[str, str]:
        mounts = {}
        for entry in spec.get("volumes", []):
            source, target = (entry["source"], entry["target"]) if isinstance(entry, dict) else entry.split(":")[:2]
            if not source.startswith((".", "/")):
                assert source in declared, f"volume {source} is not declared under top-level volumes:"
                mounts[target] = source
        return mounts

    for name in DB_SERVICES:
        assert "/var/lib/postgresql/data" in named_mounts(compose["services"][name]), name
    search = compose["services"]["search_service"]
    media_root = container_env(compose, "search_service")["SEARCH_MEDIA_ROOT"]
    assert media_root in named_mounts(search), "SEARCH_MEDIA_ROOT must be on the shared media volume"
    assert "/data/cache" in named_mounts(search), "the model cache (XDG_CACHE_HOME) must be a volume"
    assert "XDG_CACHE_HOME=/data/cache" in (REPO / "search_service" / "Dockerfile").read_text()


def test_database_urls_point_at_the_compose_databases(compose):
    services = compose["services"]
    for service, prefix in APP_SERVICES.items():
        url = container_env(compose, service)[f"{prefix}_DATABASE_URL"]
        config = environ.Env.db_url_config(url)
        host = config["HOST"]
        assert host in DB_SERVICES, f"{service}: {prefix}_DATABASE_URL host {host!r} is not a compose database"
        db = as_mapping(services[host]["environment"])
        assert config["ENGINE"] == "django.db.backends.postgresql"
        assert (config["NAME"], config["USER"], config["PASSWORD"], int(config["PORT"] or 5432)) == (
            db["POSTGRES_DB"],
            db["POSTGRES_USER"],
            db["POSTGRES_PASSWORD"],
            5432,
        )
        assert host in services[service]["depends_on"]
    # one database server per service
    hosts = {
        environ.Env.db_url_config(container_env(compose, s)[f"{p}_DATABASE_URL"])["HOST"]
        for s, p in APP_SERVICES.items()
    }
    assert len(hosts) == 2


# --- ports and host names against gunicorn and the settings -----------------------------------------


def test_ports_agree_with_gunicorn_bind_and_healthchecks(compose):
    for service in APP_SERVICES:
        spec = compose["services"][service]
        host, port = gunicorn_bind(service, container_env(compose, service))
        # all interfaces inside its container, so that other containers and the port mapping reach it
        assert host == "0.0.0.0", service  # noqa: S104
        assert healthcheck_url_port(spec) == port, service
        assert published_container_ports(spec) == {port}, service
        assert f"EXPOSE {port}" in (REPO / service / "Dockerfile").read_text(), service
    sticker_port = gunicorn_bind("sticker_service", container_env(compose, "sticker_service"))[1]
    assert sticker_port == 8000
    # search_service is internal: published on the host's loopback only (or not at all)
    for entry in compose["services"]["search_service"].get("ports", []):
        assert str(entry).startswith("127.0.0.1:"), entry


def test_sticker_service_reaches_search_service_by_its_compose_name(compose):
    services = compose["services"]
    url = urlsplit(container_env(compose, "sticker_service")["SEARCH_SERVICE_URL"])
    search = services["search_service"]
    assert url.hostname in {"search_service"} | aliases(search), f"{url.hostname} is not search_service"
    search_env = container_env(compose, "search_service")
    assert url.port == gunicorn_bind("search_service", search_env)[1]
    # Django must accept the Host header sticker_service sends ("_" is not allowed in host names).
    assert host_validation_re.fullmatch(url.netloc.lower()), f"Django rejects Host {url.netloc!r}"
    allowed = environ.Env.parse_value(search_env["ALLOWED_HOSTS"], list)
    assert url.hostname in allowed or "*" in allowed, f"search_service ALLOWED_HOSTS lacks {url.hostname}"


def test_compose_healthchecks_run_a_script_the_images_contain(compose):
    for service in APP_SERVICES:
        test = compose["services"][service]["healthcheck"]["test"]
        scripts = [part for part in test if part.endswith(".py")]
        assert scripts, test
        assert Image(service).repo_path(scripts[0]).is_file()


def test_index_worker_runs_the_celery_app_on_search_services_database_media_and_import_folder(compose):
    services = compose["services"]
    worker, search = services["index_worker"], services["search_service"]
    assert worker["build"] == search["build"]
    command = worker["command"]
    assert command[:4] == ["celery", "-A", "search_service.config.celery", "worker"]
    assert (REPO / "search_service" / "config" / "celery.py").is_file()
    worker_env, search_env = as_mapping(worker["environment"]), as_mapping(search["environment"])
    assert worker_env["SEARCH_DATABASE_URL"] == search_env["SEARCH_DATABASE_URL"]
    assert worker_env["SEARCH_CELERY_BROKER_URL"] == search_env["SEARCH_CELERY_BROKER_URL"]
    assert urlsplit(worker_env["SEARCH_CELERY_BROKER_URL"]).hostname == "redis"
    assert command[command.index("-Q") + 1] == env_example.values()["SEARCH_CELERY_QUEUE"]
    mounts = {volume.split(":")[1] for volume in worker["volumes"]}
    assert {"/data/media/stickers", "/data/import"} <= mounts
    assert {volume.split(":")[1] for volume in search["volumes"]} >= {"/data/import"}
    assert set(worker["depends_on"]) == {"search_db", "redis", "search_service"}
