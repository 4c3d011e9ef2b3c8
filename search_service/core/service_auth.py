"""The shared service token: when ``SEARCH_SERVICE_TOKEN`` is set, every /api/ call needs
``Authorization: Bearer <token>`` (401 otherwise). sticker_service is the only intended caller."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        expected = settings.SEARCH_SERVICE_TOKEN
        if not expected:
            return None
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword.lower().encode() or len(header) != 2:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <service token>'.")
        if not hmac.compare_digest(header[1], expected.encode()):
            raise exceptions.AuthenticationFailed("Invalid service token.")
        return AnonymousUser(), "service"

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasServiceToken(permissions.BasePermission):
    """Lets everything through when no token is configured, else only calls that presented it."""

    message = "This internal API needs 'Authorization: Bearer <service token>'."

    def has_permission(self, request, view) -> bool:
        return not settings.SEARCH_SERVICE_TOKEN or request.auth == "service"


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    target_class = ServiceTokenAuthentication
    name = "serviceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The shared SEARCH_SERVICE_TOKEN."}
