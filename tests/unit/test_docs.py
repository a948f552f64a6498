"""The documentation keeps up with the code: every setting is documented, the quick start is there.

A setting added to shared/infra/settings.py without a line in docs/configuration.md and .env.example
fails here, and so does a line in .env.example naming a variable that no longer exists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"
COMPOSE_FILES = (ROOT / "docker-compose.yml", ROOT / "docker-compose.prod.yml")

SETTINGS = sorted(f"MAMC_{name.upper()}" for name in Settings.model_fields)
# An assignment line, commented out or not: "MAMC_X=..." or "# MAMC_X=...".
ASSIGNMENT = re.compile(r"^#?\s*(MAMC_[A-Z0-9_]+)=", re.MULTILINE)


def mentions(text: str, variable: str) -> bool:
    """True when ``variable`` appears as a whole name (MAMC_API_HOST is not MAMC_API_HOST_PORT)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(variable)}(?![A-Za-z0-9_])", text) is not None


def compose_variables() -> set[str]:
    """Every MAMC_* name the compose files interpolate or set."""
    names: set[str] = set()
    for path in COMPOSE_FILES:
        names.update(re.findall(r"\bMAMC_[A-Z0-9_]+\b", path.read_text()))
    return names


def test_settings_are_found() -> None:
    assert len(SETTINGS) > 30 and "MAMC_SECRET_KEY" in SETTINGS


@pytest.mark.parametrize("variable", SETTINGS)
def test_setting_is_in_configuration_md(variable: str) -> None:
    assert mentions(CONFIGURATION.read_text(), variable), f"{variable} is not documented in docs/configuration.md"


@pytest.mark.parametrize("variable", SETTINGS)
def test_setting_has_a_line_in_env_example(variable: str) -> None:
    assigned = set(ASSIGNMENT.findall(ENV_EXAMPLE.read_text()))
    assert variable in assigned, f"{variable} has no `{variable}=` line (commented or not) in .env.example"


def test_env_example_names_only_real_variables() -> None:
    known = set(SETTINGS) | compose_variables()
    unknown = sorted(set(ASSIGNMENT.findall(ENV_EXAMPLE.read_text())) - known)
    assert not unknown, f".env.example names variables no setting or compose file uses: {unknown}"


def test_env_example_sets_no_secret_and_no_empty_value() -> None:
    """Active lines would be read by `mamcrawler up` from .env: an empty one is a value, not unset."""
    active = [line for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^\s*MAMC_", line)]
    assert not active, f".env.example should keep every line commented out: {active}"


def test_readme_has_the_two_quick_start_commands() -> None:
    text = README.read_text()
    assert "make up" in text
    assert "make test" in text


def _profile_defaults() -> dict[str, object]:
    """Every leaf of the quality profile as ``field`` or ``weights.field`` → its default, as JSON."""
    from shared.crawl.choice import QualityProfile

    out: dict[str, object] = {}
    for name, value in QualityProfile().model_dump(mode="json").items():
        if isinstance(value, dict):
            out.update({f"{name}.{sub}": v for sub, v in value.items()})
        else:
            out[name] = value
    return out


@pytest.mark.parametrize(("field", "default"), sorted(_profile_defaults().items()))
def test_quality_profile_field_is_documented_with_its_default(field: str, default: object) -> None:
    row = re.search(rf"^\| `{re.escape(field)}` \| `([^`]*)` \|", CONFIGURATION.read_text(), re.MULTILINE)
    assert row, f"quality profile field {field} has no row in docs/configuration.md"
    assert json.loads(row.group(1)) == default, f"docs/configuration.md gives {field} the default {row.group(1)}"
