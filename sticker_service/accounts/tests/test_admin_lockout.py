"""The admin login on the public port locks a client address out after repeated failures (django-axes)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def login(client, password: str, address: str = "203.0.113.5"):
    return client.post(LOGIN, {"username": "root", "password": password, "next": "/admin/"}, REMOTE_ADDR=address)


def test_admin_login_locks_out_an_address_after_repeated_failures(client):
    """ADMIN_LOGIN_FAILURE_LIMIT (5) failures lock the address out for ADMIN_LOGIN_COOLOFF_MINUTES (15)."""
    User.objects.create_superuser("root", "root@example.com", "right-password")
    for _ in range(4):
        assert login(client, "wrong").status_code == 200  # the form again, with its error
    locked = login(client, "wrong")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"
    assert int(locked["Retry-After"]) == 15 * 60
    # Locked out: even the right password is refused from that address ...
    again = login(client, "right-password")
    assert again.status_code == 429 and again.json()["error"]["code"] == "locked_out"
    # ... while another address still logs in.
    assert login(client, "right-password", address="198.51.100.7").status_code == 302


def test_a_successful_login_resets_the_failures(client):
    User.objects.create_superuser("root", "root@example.com", "right-password")
    for _ in range(4):
        login(client, "wrong")
    assert login(client, "right-password").status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, "wrong").status_code == 200
