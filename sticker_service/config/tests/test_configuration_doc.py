"""docs/configuration.md's tables list exactly the variables of .env.example."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CONFIGURATION_DOC = REPO / "docs" / "configuration.md"


def env_example_variables() -> set[str]:
    """Every NAME of a `NAME=value` line, commented-out ones included (they document computed defaults)."""
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def documented_variables() -> list[str]:
    """The first column of every table row in the "Variables" section of docs/configuration.md."""
    text = CONFIGURATION_DOC.read_text(encoding="utf-8")
    section = text.split("\n## Variables\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, flags=re.MULTILINE)


def test_every_env_example_variable_is_in_the_configuration_tables_and_nothing_else():
    listed = documented_variables()
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    expected = env_example_variables()
    assert expected, ".env.example lists no variables?"
    assert expected - set(listed) == set(), "add these to docs/configuration.md's tables"
    assert set(listed) - expected == set(), "docs/configuration.md lists variables .env.example does not have"


def test_the_readme_links_the_configuration_doc():
    assert "docs/configuration.md" in (REPO / "README.md").read_text(encoding="utf-8")
