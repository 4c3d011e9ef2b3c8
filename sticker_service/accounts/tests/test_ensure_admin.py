import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_env(settings):
    settings.ADMIN_USERNAME, settings.ADMIN_EMAIL = "boss", "boss@example.com"
    settings.ADMIN_PASSWORD, settings.ADMIN_TOKEN = "s3cret-pass", "t" * 40
    return settings


def test_creates_then_updates_idempotently(admin_env, client):
    call_command("ensure_admin")
    call_command("ensure_admin")
    user = User.objects.get(username="boss")
    assert (user.is_staff, user.is_superuser, user.is_active, user.email) == (True, True, True, "boss@example.com")
    assert user.check_password("s3cret-pass")
    assert list(Token.objects.values_list("key", flat=True)) == ["t" * 40]
    assert client.get("/api/analytics/", HTTP_AUTHORIZATION=f"Token {'t' * 40}").status_code == 200
    # Changed values are applied; a demoted or disabled admin is restored.
    User.objects.filter(username="boss").update(is_staff=False, is_active=False)
    admin_env.ADMIN_PASSWORD, admin_env.ADMIN_TOKEN = "new-pass", "u" * 40
    call_command("ensure_admin")
    user.refresh_from_db()
    assert user.is_staff and user.is_active and user.check_password("new-pass")
    assert list(Token.objects.values_list("key", flat=True)) == ["u" * 40]
    assert User.objects.count() == 1
    assert client.post("/admin/login/", {"username": "boss", "password": "new-pass"}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_without_token_one_is_generated_and_kept(admin_env):
    admin_env.ADMIN_TOKEN = ""
    call_command("ensure_admin")
    key = Token.objects.get().key
    call_command("ensure_admin")
    assert Token.objects.get().key == key


def test_refuses_missing_password_or_bad_token(admin_env):
    admin_env.ADMIN_PASSWORD = ""
    with pytest.raises(CommandError, match="ADMIN_PASSWORD"):
        call_command("ensure_admin")
    admin_env.ADMIN_PASSWORD, admin_env.ADMIN_TOKEN = "pw", "x" * 41
    with pytest.raises(CommandError, match="token"):
        call_command("ensure_admin")
    assert not User.objects.exists()
