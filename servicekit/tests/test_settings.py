import pytest
from django.core.exceptions import ImproperlyConfigured

from servicekit.settings import DEVELOPMENT_SECRETS, refuse_unsafe_settings, secret_key, unsafe_settings


@pytest.mark.parametrize("value", ["", "short", "dev-insecure-sticker-secret-key-change-me" * 2])
def test_production_refuses_missing_or_development_secret_key(monkeypatch, value):
    monkeypatch.setenv("X_SECRET_KEY", value)
    with pytest.raises(ImproperlyConfigured):
        secret_key("X_SECRET_KEY", debug=False)


def test_production_accepts_a_random_secret_key(monkeypatch):
    monkeypatch.setenv("X_SECRET_KEY", "Qm9fZ3JhbmQtcmFuZG9tLXNlY3JldC1rZXktZm9yLXRlc3RzLW9ubHk")
    assert secret_key("X_SECRET_KEY", debug=False).startswith("Qm9f")


def test_debug_allows_a_development_key(monkeypatch):
    monkeypatch.delenv("X_SECRET_KEY", raising=False)
    assert secret_key("X_SECRET_KEY", debug=True)


SAFE = {
    "required": {"SEARCH_SERVICE_TOKEN": "Zq0vR5t0kenFromSecretsTokenUrlsafe"},
    "secrets": {"ADMIN_PASSWORD": "", "ADMIN_TOKEN": "c0ffee" * 6},
    "database_urls": {"X_DATABASE_URL": "postgres://app:secret@db:5432/app"},
    "allowed_hosts": ["stickers.example.com"],
    "public_urls": {"STICKER_MEDIA_URL": "https://cdn.example.com/stickers/"},
}


def test_production_settings_with_real_secrets_are_accepted():
    assert unsafe_settings(**SAFE) == []
    refuse_unsafe_settings(False, **SAFE)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"required": {"SEARCH_SERVICE_TOKEN": ""}}, "SEARCH_SERVICE_TOKEN is empty"),
        ({"required": {"SEARCH_SERVICE_TOKEN": "dev-service-token"}}, "SEARCH_SERVICE_TOKEN is the development"),
        ({"secrets": {"ADMIN_PASSWORD": "dev-admin-password"}}, "ADMIN_PASSWORD is the development"),
        # any development value, also one copied from another variable
        ({"secrets": {"ADMIN_TOKEN": "dev-service-token"}}, "ADMIN_TOKEN is the development"),
        (
            {
                "database_urls": {
                    "X_DATABASE_URL": "postgres://u:" + DEVELOPMENT_SECRETS["STICKER_DB_PASSWORD"] + "@db/x"
                }
            },
            "X_DATABASE_URL has the development database password",
        ),
        ({"allowed_hosts": ["*"]}, "ALLOWED_HOSTS contains '*'"),
        *(
            ({"public_urls": {"STICKER_MEDIA_URL": url}}, "STICKER_MEDIA_URL names the internal host")
            for url in [
                "http://127.0.0.1:8118/media/stickers/",
                "http://127.8.0.1/m/",
                "http://[::1]:8118/m/",
                "http://10.1.2.3/m/",
                "http://172.16.0.9/m/",
                "https://192.168.1.5/m/",
                "http://169.254.169.254/latest/",
                "http://[fd00::1]/m/",
                "http://0.0.0.0:8118/m/",
                "http://localhost:8118/m/",
                "http://media.localhost/m/",
            ]
        ),
    ],
)
def test_production_refuses_unsafe_settings_naming_the_variable(change, named):
    values = {**SAFE, **change}
    assert any(named in problem for problem in unsafe_settings(**values))
    with pytest.raises(ImproperlyConfigured, match=named.replace("*", r"\*")):
        refuse_unsafe_settings(False, **values)
    refuse_unsafe_settings(True, **values)  # DEBUG (make run) allows development values


@pytest.mark.parametrize(
    "url", ["https://cdn.example.com/s/", "https://stickers.s3.eu-west-1.amazonaws.com/s/", "http://93.184.216.34/s/"]
)
def test_public_media_urls_are_accepted(url):
    assert unsafe_settings(**{**SAFE, "public_urls": {"STICKER_MEDIA_URL": url}}) == []


def test_metrics_networks_and_log_format_are_checked(monkeypatch):
    from servicekit.settings import log_format, networks

    monkeypatch.setenv("X_NETWORKS", "10.0.0.0/8, ::1/128,192.168.1.7")
    assert networks("X_NETWORKS") == ["10.0.0.0/8", "::1/128", "192.168.1.7"]
    monkeypatch.setenv("X_NETWORKS", "10.0.0.0/8,internal")
    with pytest.raises(ImproperlyConfigured, match="internal"):
        networks("X_NETWORKS")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert log_format() == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ImproperlyConfigured):
        log_format()
