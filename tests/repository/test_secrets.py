"""No secret committed: every tracked file is scanned for private keys, cloud and service tokens, passwords in URLs and
secret-named settings assigned a literal; the scan finds planted ones and lets development placeholders pass."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from testkit import REPO

pytestmark = pytest.mark.repository


# What a leaked credential looks like (private keys, cloud and service tokens), and secret-named settings
# assigned a literal in code or configuration.
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b"),
    "OpenAI/Anthropic key": re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,}\b"),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "password in a URL": re.compile(
        r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!\$\{|secret@|pass@|password@)"
        r"[^/\s@'\"]{8,}@"
    ),
}
SECRET_ASSIGNMENT = re.compile(
    r"""^\s*["']?(?P<name>[A-Z_]*(?:SECRET_KEY|PASSWORD|TOKEN|API_KEY))["']?\s*[:=]\s*(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"'#,]+)""",
    re.MULTILINE,
)
# Values that are not secrets: development placeholders, variable references, test fixtures' obvious fakes.
HARMLESS_VALUE = re.compile(
    r"dev-|test|fake|example|dummy|stand-in|placeholder|changeme|change-me|^[\"']?[$<{]", re.IGNORECASE
)
SKIP_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".bmp",
    ".ico",
    ".pt",
    ".safetensors",
    ".bin",
    ".npz",
    ".npy",
    ".gz",
    ".zip",
    ".woff",
    ".woff2",
    ".ttf",
)


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    return [name for name in listing.stdout.decode().split("\0") if name]


def secrets_in(name: str, text: str) -> list[str]:
    found = []
    for label, pattern in SECRET_PATTERNS.items():
        found += [f"{name}: {label}: {match.group(0)[:40]}" for match in pattern.finditer(text)]
    for match in SECRET_ASSIGNMENT.finditer(text):
        value = match.group("value")
        if name.endswith(".py") and value[:1] not in "\"'":
            continue  # code: only a string literal can be a committed secret (not secrets.token_hex() etc.)
        if len(value.strip("\"'")) >= 8 and not HARMLESS_VALUE.search(value):
            found.append(f"{name}: {match.group('name')} = {value[:12]}...")
    return found


def test_the_secret_scan_finds_planted_secrets():
    key_header = "-----BEGIN " + "RSA PRIVATE KEY-----"  # split: this file must not match itself
    planted = {
        "id_rsa": f"{key_header}\nMIIEow...\n",
        "settings.py": 'SECRET_KEY = "q8#fj29!xk2m-zz1"\n',
        "prod.env": "ADMIN_PASSWORD=Hunter2Hunter2\nDATABASE_URL=postgres://app:" + "S3cr3tPassw0rd@db/app\n",
        "ci.yml": "token: ghp_" + "a" * 36 + "\n",
        "aws.txt": "AKIA" + "ABCDEFGHIJKLMNOP",
    }
    for name, text in planted.items():
        assert secrets_in(name, text), name
    harmless = {
        ".env.example": "STICKER_SECRET_KEY=dev-insecure-sticker-secret-key-change-me\nADMIN_PASSWORD=\n",
        "settings.py": 'SECRET_KEY = secret_key("STICKER_SECRET_KEY", debug)\nTOKEN = "live-test-token"\n',
        "compose.yml": "url: postgres://${USER}:${PASSWORD}@db:5432/app\n",
    }
    for name, text in harmless.items():
        assert not secrets_in(name, text), (name, secrets_in(name, text))


def test_no_secret_is_committed():
    files = tracked_files()
    assert ".env" not in files, ".env (real settings) must never be committed; .env.example holds dev values"
    found, scanned = [], set()
    for name in files:
        path = REPO / name
        if name.lower().endswith(SKIP_SUFFIXES) or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        found += secrets_in(name, path.read_text(encoding="utf-8", errors="ignore"))
        scanned.add(name)
    assert not found, "possible secrets in tracked files:\n" + "\n".join(found)
    # The scan read the files where a secret would be set.
    assert {".env.example", "docker-compose.yml", "docker/entrypoint.sh", "README.md"} <= scanned
