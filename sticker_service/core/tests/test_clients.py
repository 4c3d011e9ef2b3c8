"""The client identity of votes and searches: the client id when given, else the address; stored as a hash."""

from django.test import RequestFactory
from rest_framework.request import Request

from sticker_service.core.clients import client_identity, client_key


def test_client_identity_is_the_client_id_else_the_address():
    factory = RequestFactory()
    request = Request(factory.get("/", REMOTE_ADDR="203.0.113.7"))
    assert client_identity(request) == "ip:203.0.113.7"
    assert client_identity(request, "abc") == "id:abc"
    # A client id that looks like an address is still another client than that address.
    assert client_key(client_identity(request, "203.0.113.7")) != client_key(client_identity(request))
    assert len(client_key("id:abc")) == 64
