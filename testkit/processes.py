"""Running a helper command of a test and failing loudly, with the ends of its output, when it fails."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


def run_checked(
    args: Sequence[str],
    *,
    what: str,
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float = 600,
    extra: str = "",
) -> str:
    """Runs ``args`` and returns its standard output; on a non-zero exit raises ``RuntimeError`` naming ``what``
    with the last lines of both outputs (and ``extra``, e.g. a server log tail)."""
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}\n{extra}"
        )
    return result.stdout
