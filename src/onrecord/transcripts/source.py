"""What a format decoder hands the parser: a transcript's text and the metadata that came with it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Source:
    """A transcript's text and the metadata that came with it (front matter, JSON fields, CLI)."""

    text: str
    file: str
    meta: dict = field(default_factory=dict)
    note: str | None = None  # how the file was read, when that is worth saying (not UTF-8)
    cues: list = field(default_factory=list)  # a caption file's timed cues (captions.Cue), in order

