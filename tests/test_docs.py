"""The README cannot drift from the code: every setting is documented, the two commands exist."""

import re
from pathlib import Path

from onrecord.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table():
    documented = set(re.findall(r"^\| `(ONRECORD_[A-Z_]+)` \|", README, re.M))
    assert documented == {f"ONRECORD_{name.upper()}" for name in Settings.model_fields}


def test_default_values_in_the_table_match_the_code():
    defaults = Settings()
    for name in ("index", "model", "backend", "threads", "host", "port", "weak_score"):
        row = re.search(rf"^\| `ONRECORD_{name.upper()}` \| `([^`]*)` \|", README, re.M)
        assert row and row.group(1) == str(getattr(defaults, name)), name


def test_the_two_commands_are_make_targets_and_ci_runs_the_test_one():
    makefile = (ROOT / "Makefile").read_text()
    assert "make run" in README and "make test" in README
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
