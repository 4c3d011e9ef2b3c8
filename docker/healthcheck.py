"""Container healthcheck of both services: GET a URL, exit 0 on HTTP 200, else 1.

Usage: python /app/docker/healthcheck.py http://127.0.0.1:8000/healthz

The probe sends a Host header Django accepts (the first plain entry of ALLOWED_HOSTS; Django
rejects the container's own address when ALLOWED_HOSTS lists only the public domain) and
``X-Forwarded-Proto: https`` so that SECURE_SSL_REDIRECT does not turn it into a redirect.
Standard library only: the slim image has no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def probe_host(allowed_hosts: str) -> str:
    for entry in allowed_hosts.split(","):
        host = entry.strip().lstrip(".")
        if host and "*" not in host:
            return host
    return "localhost"


def check(url: str, timeout: float = 5.0) -> int:
    request = urllib.request.Request(  # noqa: S310 - the URL is the compose file's own healthcheck
        url, headers={"Host": probe_host(os.environ.get("ALLOWED_HOSTS", "")), "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: healthcheck.py URL")
    sys.exit(check(sys.argv[1]))
