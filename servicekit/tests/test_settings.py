import pytest
from django.core.exceptions import ImproperlyConfigured

from servicekit.settings import secret_key


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
