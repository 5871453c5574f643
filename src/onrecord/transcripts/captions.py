"""Caption files -> text with speaker labels, and the time of each cue.

    WebVTT (.vtt)            cues; `<v Name>` voice tags name the speaker
    SRT (.srt)               numbered cues; labels in the cue text ("MR. KIRBY: ...", ">> Q: ...")
    YouTube timedtext (.xml) `<transcript><text start dur>` or `<timedtext><body><p t d>`; `>>`
                             marks a change of speaker, often without a name

A change of speaker (a new voice, a label at the start of a cue, `>>`) starts a new paragraph;
the paragraphs are then read like any transcript, so labels work as everywhere else. Each cue's
text and times are kept (`Cue`), so an answer can say when it was said.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..errors import TranscriptError

_TIMING = re.compile(
    r"(?P<a>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<b>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]{1,80})>")
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,80}>|<\d{1,2}:\d{2}[:.\d]*>")
_LABEL_START = re.compile(r"(?:>>\s*)?[A-Z][\w.'’\- ]{0,40}:\s")


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str  # as it stands in the produced text (a voice label not included)


def seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    value = 0.0
    for p in parts:
        value = value * 60 + float(p)
    return value


def _blocks(text: str) -> list[list[str]]:
    return [b.strip("\n").split("\n") for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]


def _cues_of(text: str) -> list[tuple[float, float, str, str | None]]:
    """(start, end, text, voice) of each cue of a VTT or SRT file."""
    out = []
    for lines in _blocks(text):
        at = next((i for i, line in enumerate(lines) if _TIMING.search(line)), None)
        if at is None:
            continue  # the WEBVTT header, NOTE and STYLE blocks, a cue number alone
        m = _TIMING.search(lines[at])
        payload = " ".join(lines[at + 1:])
        voice = _VOICE.search(payload)
        words = html.unescape(_TAG.sub("", payload))
        words = " ".join(words.split())
        if words:
            out.append((seconds(m.group("a")), seconds(m.group("b")), words, voice.group(1).strip() if voice else None))
    return out


def _timedtext_cues(root) -> list[tuple[float, float, str, str | None]]:
    out = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "text" and el.get("start") is not None:
            start = float(el.get("start"))
            end = start + float(el.get("dur") or 0)
        elif tag == "p" and el.get("t") is not None:
            start = int(el.get("t")) / 1000
            end = start + int(el.get("d") or 0) / 1000
        else:
            continue
        words = " ".join(html.unescape("".join(el.itertext())).split())
        if words:
            out.append((start, end, words, None))
    return out


def is_timedtext(root) -> bool:
    tag = root.tag.rsplit("}", 1)[-1]
    return tag in ("transcript", "timedtext") and any(
        el.get("start") is not None or el.get("t") is not None for el in root.iter())


def _assemble(cues: list[tuple[float, float, str, str | None]]) -> tuple[str, list[Cue]]:
    """The text (a paragraph per change of speaker) and the cues as they stand in it."""
    paragraphs: list[list[str]] = []
    kept: list[Cue] = []
    voice_now: object = object()
    for start, end, words, voice in cues:
        new_voice = voice is not None and voice != voice_now
        turn = words.startswith(">>") or bool(_LABEL_START.match(words))
        words = words.lstrip("> ").strip() if words.startswith(">>") else words
        if not words:
            continue
        if new_voice or turn or not paragraphs:
            paragraphs.append([f"{voice}:"] if new_voice else [])
        if voice is not None:
            voice_now = voice
        paragraphs[-1].append(words)
        kept.append(Cue(start, end, words))
    return escape_markdown("\n\n".join(" ".join(p) for p in paragraphs)), kept


def escape_markdown(text: str) -> str:
    """Caption text has no markdown: keep its backslashes and asterisks from being read as such."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def caption_text(text: str, suffix: str) -> tuple[str, list[Cue]]:
    """A VTT or SRT file's text for the reader, and its cues."""
    cues = _cues_of(text)
    if not cues:
        raise TranscriptError(f"no timed cues found in the {suffix.lstrip('.').upper()} file")
    return _assemble(cues)


def timedtext_text(root) -> tuple[str, list[Cue]]:
    cues = _timedtext_cues(root)
    if not cues:
        raise TranscriptError("no timed cues found in the timedtext file")
    return _assemble(cues)


MEDIA_SUFFIXES = (".mp4", ".m4a", ".mp3", ".webm", ".ogg", ".oga", ".wav", ".mov", ".m4v")


def moment_link(url: str | None, start: float) -> str | None:
    """The source URL pointing at a moment: `t=` for YouTube, `#t=` for a media file; otherwise
    the URL itself (a page cannot be pointed into)."""
    if not url:
        return None
    s = int(start)
    if re.match(r"https?://(?:www\.|m\.)?(?:youtube\.com|youtu\.be)/", url):
        url = re.sub(r"([?&])t=\d+s?&?", r"\1", url).rstrip("?&")
        return f"{url}{'&' if '?' in url else '?'}t={s}s"
    if url.split("?", 1)[0].split("#", 1)[0].lower().endswith(MEDIA_SUFFIXES):
        return f"{url.split('#', 1)[0]}#t={s}"
    return url
