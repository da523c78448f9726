"""deploy/ stays consistent with the code: every METERLINE_* variable it sets is a real setting."""

from __future__ import annotations

import re
from pathlib import Path

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
KNOWN = {f"METERLINE_{name.upper()}" for name in Settings.model_fields}


def test_compose_and_dockerfile_use_only_known_settings() -> None:
    for path in ("deploy/compose.yaml", "deploy/Dockerfile"):
        used = set(re.findall(r"METERLINE_[A-Z_]+", (ROOT / path).read_text()))
        assert used, path
        assert used <= KNOWN, f"{path}: unknown settings {sorted(used - KNOWN)}"


def test_readme_settings_exist() -> None:
    used = set(re.findall(r"METERLINE_[A-Z_]+", (ROOT / "README.md").read_text()))
    assert used <= KNOWN, sorted(used - KNOWN)
