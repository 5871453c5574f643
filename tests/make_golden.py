"""Regenerate tests/golden/*.json from the parser (review the diff by hand before committing).

    python tests/make_golden.py
"""

import json
from collections import Counter
from pathlib import Path

from onrecord.transcripts import parse_file

HERE = Path(__file__).parent


def summary(path: Path) -> dict:
    from onrecord.inspection import structure_warnings

    t = parse_file(path)[0]
    turns = [
        {"speaker": tu.speaker, "role": tu.role, "affiliation": tu.affiliation,
         "starts": " ".join(t.turn_text(tu).split()[:8])}
        for tu in t.turns
    ]
    return {
        "title": t.title, "date": t.date, "organisation": t.organisation, "source_url": t.source_url,
        "speakers": dict(sorted(Counter(f"{x['speaker']} ({x['role']})" for x in turns).items())),
        "turns": len(t.turns), "exchanges": len(t.exchanges),
        "opening_statements": sum(1 for e in t.exchanges if not e.question),
        "topics": sorted({e.topic for e in t.exchanges if e.topic}),
        "first_turns": turns[:6],
        "warnings": structure_warnings(t),
    }


STYLES = HERE / "styles"  # transcripts in other styles and formats (see styles/README.md)
READING = HERE / "reading"  # the real cases of reading rules (see reading/README.md)


def golden_files() -> list[Path]:
    """The transcripts with golden files: tests/data, tests/styles and tests/reading (not their READMEs)."""
    return sorted(p for folder in (HERE / "data", STYLES, READING) for p in folder.iterdir()
                  if p.is_file() and p.name != "README.md")


if __name__ == "__main__":
    for path in golden_files():
        out = HERE / "golden" / (path.name + ".json")
        out.write_text(json.dumps(summary(path), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print("wrote", out)
