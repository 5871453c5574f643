"""Canonical text: a file's words with markup removed and white space normalised, paragraphs
joined by a blank line; speaker labels that stand inside paragraphs or blocks start new ones."""

from __future__ import annotations

import html
import re

from .labels import QUESTION_NUMBER

_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~\"'$&])")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^<>\s]+)>")
_EMPHASIS_RE = re.compile(r"(?<![\w*])(\*{1,2})(?=\S)([^*\n]+?)(?<=\S)\1(?![\w*])")
_WS_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000\u2060\ufeff]+")


def clean_paragraph(raw: str) -> str:
    """One paragraph of source text -> its canonical form (markup removed, whitespace folded)."""
    text = raw
    if text.lstrip().startswith(">>"):  # a caption dump's change-of-speaker mark
        text = text.lstrip()[2:].lstrip(">")
    if "<" in text:
        text = _TAG_RE.sub("", _AUTOLINK_RE.sub(r"\1", text))
    if "\\" in text:
        text = _ESCAPE_RE.sub(r"\1", text)
    if "*" in text:
        text = _EMPHASIS_RE.sub(r"\2", text)
    text = html.unescape(text) if "&" in text else text
    return " ".join(_WS_RE.sub(" ", text).split())


INLINE_LABELS = 100  # at most this many of a file's labels are looked for inside paragraphs
_INLINE_CANDIDATE = re.compile(r"[A-Z][A-Z.'’\- ]{0,60}[A-Z.](?=: )")


# a numbered question ("[16.] Q. Mr. President, ..."), as conference records number them
_NUMBERED_Q = re.compile(QUESTION_NUMBER + r"Q[.:]\s")
_NUMBERED_Q_INSIDE = re.compile(r"\s+(?=" + QUESTION_NUMBER + r"Q[.:]\s)")


def split_inline_labels(paras: list[str]) -> list[str]:
    """A speaker label of the file that stands inside a paragraph, right after a sentence end
    ("... tracking that. MR. ZIENTS: Next question."), starts a new paragraph. Only ALL-CAPS colon
    labels that also start at least two paragraphs of the file count (a capitalised phrase and a
    colon inside speech is no label otherwise). So does a numbered question inside a paragraph
    ("REPEAL OF SECTION 14(B) [16.] Q. Mr. President, ..."), in a file that numbers at least two
    paragraphs' questions so."""
    if sum(1 for p in paras if _NUMBERED_Q.match(p)) >= 2:
        paras = [part for p in paras for part in (_NUMBERED_Q_INSIDE.split(p) if "Q" in p else [p])]
    counts: dict[str, int] = {}
    for p in paras:
        m = _INLINE_CANDIDATE.match(p)
        if m:
            counts[m.group()] = counts.get(m.group(), 0) + 1
    known = sorted((label for label, n in counts.items() if n >= 2 and len(label) >= 2), key=lambda x: -counts[x])
    if not known:
        return paras
    inline = re.compile(r"(?<=[.?!\"”]) (?=(?:" + "|".join(map(re.escape, known[:INLINE_LABELS])) + r"): )")
    out = []
    for p in paras:
        out.extend(inline.split(p) if ": " in p else [p])
    return out


UNWRAPPED_LINE = 120  # a block whose lines are longer than this (median) was not hard-wrapped
# a speaker label at the start of a line: "MR. KIRBY:", "Q.", "Q:", "Jens Stoltenberg:", "Question:"
_LINE_LABEL = re.compile(
    r"(?P<label>Q[.:]|(?:QUESTION|Question|ANSWER|Answer|MODERATOR|Moderator):|[A-Z][A-Z.'’\- ]{0,60}[A-Z.]:|"
    r"[A-Z][\w.'’\-]+(?: [A-Z][\w.'’\-]+){1,3}:)(?=\s)"
)


def _line_labels(lines: list[str]) -> set[str]:
    """Labels that start at least two lines of the file and stand inside a block of lines at
    least once (a PDF or a hard-wrapped file without blank lines between turns)."""
    counts: dict[str, int] = {}
    inside = set()
    previous_blank = True
    for line in lines:
        stripped = line.strip()
        m = _LINE_LABEL.match(stripped) if stripped else None
        if m:
            counts[m.group("label")] = counts.get(m.group("label"), 0) + 1
            if not previous_blank:
                inside.add(m.group("label"))
        previous_blank = not stripped
    return {label for label in inside if counts[label] >= 2}




def split_paragraphs(body: str) -> list[str]:
    """Blank-line separated blocks of the body, each cleaned; empty blocks dropped. A block of
    hard-wrapped lines is one paragraph (the lines are reflowed); a block whose lines are long
    (median over UNWRAPPED_LINE characters: a file that puts each paragraph on one line, with no
    blank lines) is a paragraph per line."""
    blocks, current = [], []
    lines = body.splitlines()
    starters = _line_labels(lines)

    def flush():
        if len(current) > 1 and sorted(len(x) for x in current)[len(current) // 2] > UNWRAPPED_LINE:
            blocks.extend(current)
        elif current:
            run: list[str] = []
            for line in current:  # a label of the file at the start of a line, inside a block: a new turn
                if run and (line.lstrip().startswith(">>") or starters and (m := _LINE_LABEL.match(line.lstrip()))
                            and m.group("label") in starters):

                    blocks.append(" ".join(run))
                    run = []
                run.append(line)
            blocks.append(" ".join(run))
        current.clear()

    for line in lines:
        if _WS_RE.sub("", line).strip():
            current.append(line)
        else:
            flush()
    flush()

    return [p for p in (clean_paragraph(b) for b in blocks) if p]



