"""Admin users and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

TOKEN_MAX_LENGTH = 40


@dataclass(frozen=True)
class EnsureAdminResult:
    username: str
    user_created: bool
    token_changed: bool


def ensure_admin(*, username: str, email: str, password: str, token: str = "") -> EnsureAdminResult:
    """Create or update the staff superuser ``username`` and, when ``token`` is given, make it its API token.

    Idempotent: running it again with the same values changes nothing (the password is re-hashed only
    when it differs). Without ``token`` an existing token is kept (one is generated if there is none).
    """
    if not username:
        raise ValueError("username is required")
    if not password:
        raise ValueError("password is required")
    if token and not (8 <= len(token) <= TOKEN_MAX_LENGTH):
        raise ValueError(f"token must be 8..{TOKEN_MAX_LENGTH} characters")
    user_model = get_user_model()
    with transaction.atomic():
        user, created = user_model.objects.select_for_update().get_or_create(
            username=username, defaults={"email": email}
        )
        user.email = email
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        if created or not user.check_password(password):
            user.set_password(password)
        user.save()
        existing = Token.objects.filter(user=user).first()
        token_changed = False
        if token and (existing is None or existing.key != token):
            if existing is not None:
                existing.delete()
            Token.objects.filter(key=token).delete()  # the key may belong to an older admin account
            Token.objects.create(user=user, key=token)
            token_changed = True
        elif existing is None:
            Token.objects.create(user=user)
            token_changed = True
    return EnsureAdminResult(username=username, user_created=created, token_changed=token_changed)
