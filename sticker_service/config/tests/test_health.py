import pytest
from django.test import override_settings


@pytest.mark.django_db
@override_settings(SEARCH_SERVICE_URL="http://127.0.0.1:9", METRICS_TOKEN="ops-token", METRICS_ALLOWED_NETWORKS=[])
def test_readyz_is_degraded_not_503_while_search_service_is_down_and_public_answer_has_no_details(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": {"ok": True}, "search_service": {"ok": False}},
    }
    assert "127.0.0.1:9" not in response.content.decode()
    # Internal callers (metrics token or allowed address) see why.
    inside = client.get("/readyz", HTTP_AUTHORIZATION="Bearer ops-token").json()
    assert inside["status"] == "degraded"
    assert inside["checks"]["search_service"]["url"] == "http://127.0.0.1:9"
    assert inside["checks"]["search_service"]["error"].startswith("connection failed")
    assert "latency_ms" in inside["checks"]["database"]


@pytest.mark.django_db
@override_settings(SEARCH_SERVICE_URL="http://127.0.0.1:9", METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[])
def test_readyz_details_for_staff_signed_in_to_the_admin(client, django_user_model):
    staff = django_user_model.objects.create_user("ops", password="unused-pw", is_staff=True)
    client.force_login(staff)
    assert "error" in client.get("/readyz").json()["checks"]["search_service"]


@pytest.mark.django_db
def test_readyz_is_ok_when_search_service_answers(client, fake_search_service):
    response = client.get("/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def test_readyz_is_503_only_when_a_required_check_fails_and_hides_the_raw_error():
    from rest_framework.test import APIRequestFactory

    from servicekit.health import ReadinessView

    def down() -> dict:
        return {"ok": False, "error": "OperationalError: could not connect to server at db.internal:5432"}

    def up() -> dict:
        return {"ok": True, "latency_ms": 1.0}

    optional = frozenset({"search_service"})
    request = APIRequestFactory().get("/readyz", REMOTE_ADDR="203.0.113.9")
    view = ReadinessView.as_view(checks={"database": down, "search_service": up}, optional=optional)
    response = view(request)
    assert response.status_code == 503
    assert response.data == {
        "status": "unavailable",
        "checks": {"database": {"ok": False}, "search_service": {"ok": True}},
    }
    both_down = ReadinessView.as_view(checks={"database": down, "search_service": down}, optional=optional)
    assert both_down(request).status_code == 503
    only_optional = ReadinessView.as_view(checks={"database": up, "search_service": down}, optional=optional)
    assert (only_optional(request).status_code, only_optional(request).data["status"]) == (200, "degraded")


def test_unknown_path_is_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@override_settings(SECURE_SSL_REDIRECT=True, METRICS_TOKEN="ops-token")
def test_probes_and_metrics_are_not_redirected_to_https(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ops-token").status_code == 200
    assert client.get("/api/counter/", {"digit": 7, "n": 10}).status_code == 301
