import pytest
from django.test import override_settings


@pytest.mark.django_db
@override_settings(SEARCH_SERVICE_URL="http://127.0.0.1:9")
def test_readyz_reports_search_service_down_as_503(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["search_service"]["ok"] is False


def test_unknown_path_is_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
