"""schemathesis (its CLI, ``st run``) against both services' OpenAPI schemas (``/api/schema/``), every operation,
through the live gunicorn processes: every check on (no 5xx, status codes, content types, headers and bodies
as documented, valid requests accepted, invalid ones refused, auth enforced). Settings in
``CONFIG`` below, hooks in ``schemathesis_hooks.py`` beside this file; a fixed seed keeps runs
repeatable. Examples per operation and phase: ``SCHEMATHESIS_MAX_EXAMPLES`` (default 30, within the CI budget;
``SCHEMATHESIS_MAX_EXAMPLES_SEARCH_SERVICE`` for search_service, default the same), seed ``SCHEMATHESIS_SEED``
(default 1); ``make fuzz`` (nightly) runs 150 examples on sticker_service and 100 on search_service with seed 42.
No Accept header is added: each operation answers what its schema declares for the client's default ``*/*``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import REPO
from tests.system.figures import record

pytestmark = pytest.mark.system

MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30")
EXAMPLES = {
    "sticker_service": MAX_EXAMPLES,
    "search_service": os.environ.get("SCHEMATHESIS_MAX_EXAMPLES_SEARCH_SERVICE", MAX_EXAMPLES),
}
SEED = os.environ.get("SCHEMATHESIS_SEED", "1")

# schemathesis.toml, written for each run (an operation override that matches nothing would be a warning).
CONFIG = {
    "common": """
# A request line over gunicorn's limit_request_line (4094 bytes) is refused with a JSON 414 before Django: a
# correct rejection of the overlong invalid data schemathesis generates, so 414 counts as rejected too.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429", "5xx"]

# A search's offset + limit must stay within the result window of 1,000 (400 result_window_exceeded), a rule
# across two parameters that JSON Schema cannot state. The fuzzing phases leave such requests out
# (schemathesis_hooks.py); the coverage phase, which takes no hooks, combines each parameter's extremes (offset
# 999 with limit 100), so it does not ask that its "valid" searches be accepted. The window itself is
# tested by hand on both services; each parameter's own bounds (offset <= 999) are in the schema.
[[operations]]
include-path = "/api/search/"
include-method = "GET"
phases.coverage.checks.positive_data_acceptance.enabled = false
""",
    "search_service": """
# The upload takes only real images (PNG/JPEG/WebP/GIF/BMP that Pillow decodes and verifies, with a plain file
# name whose extension matches): JSON Schema cannot say that of a binary part, so a schema-valid upload of random
# bytes is rightly refused (400) and "valid data is accepted" cannot be asked of it. test_upload_safety.py tests
# the upload rules by hand. For the same reason its "mostly rejected generated data" warning (validation_mismatch)
# says nothing: whether it shows depends on which source constants schemathesis feeds its generator.
[[operations]]
include-path = "/api/images/"
include-method = "POST"
checks.positive_data_acceptance.enabled = false
warnings = false

[[operations]]
include-path = "/api/search/"
include-method = "POST"
phases.coverage.checks.positive_data_acceptance.enabled = false
""",
}


def run_schemathesis(service: str, url: str, auth: str, workdir: Path) -> tuple[int, str]:
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG["common"] + CONFIG.get(service, ""))
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.system.schemathesis_hooks",
        # The `st` command is not started from the repository root: it finds the hooks module through PYTHONPATH.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "NO_COLOR": "1",
    }
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{url}/api/schema/",
        "-H",
        f"Authorization: {auth}",
        "--max-examples",
        EXAMPLES[service],
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "30",
    ]
    # cwd: its .schemathesis/ replay files go to the test's temporary folder, not into the checkout.
    timeout = int(os.environ.get("SCHEMATHESIS_TIMEOUT", "3600"))  # make fuzz at depth on a busy machine
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return result.returncode, result.stdout + result.stderr


def generated(output: str) -> str:
    match = re.search(r"Test cases:\s*\n\s*(.+)", output)
    return match.group(1).strip() if match else "?"


@pytest.mark.parametrize("service", ["sticker_service", "search_service"])
def test_schemathesis_finds_nothing(up, service, tmp_path):
    if service == "sticker_service":
        url, auth = up.sticker.url, f"Token {up.sticker.admin_token}"
    else:
        url, auth = up.search.url, f"Bearer {up.search.token}"
    code, output = run_schemathesis(service, url, auth, tmp_path)
    assert code == 0 and "No issues found" in output, output[-20000:]
    operations = re.search(r"Selected: (\d+)/(\d+)", output)
    assert operations and operations.group(1) == operations.group(2), "every operation is tested"
    record(
        f"schemathesis {service} (seed {SEED}, {EXAMPLES[service]} examples): operations / test cases",
        f"{operations.group(1)} / {generated(output)}",
    )
