"""README.md's configuration tables list exactly the variables of .env.example."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def env_example_variables() -> set[str]:
    """Every NAME of a `NAME=value` line, commented-out ones included (they document computed defaults)."""
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def readme_configuration_variables() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, flags=re.MULTILINE)


def test_every_env_example_variable_is_in_the_readme_table_and_nothing_else():
    listed = readme_configuration_variables()
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    expected = env_example_variables()
    assert expected, ".env.example lists no variables?"
    assert expected - set(listed) == set(), "add these to README.md's Configuration tables"
    assert set(listed) - expected == set(), "README.md lists variables .env.example does not have"
