"""How a file was read: its metadata, turns, exchanges and the warnings a reader should see
(`onrecord inspect FILE`, and the per-file warnings of an ingest report)."""

from __future__ import annotations

import re
from collections import Counter

from .chunking import chunk
from .models import QUESTIONER, SPOKESPERSON, UNKNOWN, Transcript
from .transcripts.labels import COURTESY

DOMINANT_SHARE = 0.95  # one speaker holding more of the words than this, in a file with questions


def structure_warnings(t: Transcript) -> list[str]:
    """What is weak about how a transcript was read (empty when its structure looks sound)."""
    warnings = []
    labelled = [tu for tu in t.turns if tu.label]
    if not labelled:
        who = t.turns[0].speaker if t.turns else "nobody"
        warnings.append(f"no speaker labels found: the whole text is one statement by {who}")
    words = Counter()
    for tu in t.turns:
        words[tu.speaker] += len(t.turn_text(tu).split())
    total = sum(words.values())
    if labelled and len(t.turns) >= 4 and total:
        speaker, n = words.most_common(1)[0]
        if n / total > DOMINANT_SHARE and any(tu.role == QUESTIONER for tu in t.turns):
            warnings.append(f"one speaker holds {n / total:.0%} of the words ({speaker}): labels may have been missed")
    unknown = sum(1 for tu in t.turns if tu.role == UNKNOWN or tu.speaker == "Unknown speaker")
    if labelled and unknown > max(2, len(t.turns) // 10):
        warnings.append(f"{unknown} of {len(t.turns)} turns have no known speaker")
    if labelled and not any(tu.role == SPOKESPERSON for tu in t.turns):
        warnings.append("no turn was read as a spokesperson's: nothing from this file will be answered")
    return warnings


def describe(t: Transcript) -> dict:
    """A transcript's reading as plain data (the JSON of `onrecord inspect --json`); `passages` is
    how many answer passages a turn gives (0 for a spokesperson's turn that answers nothing, such
    as "Go ahead, Nancy.", and for every reporter's turn)."""
    passages = Counter(p.turn_index for p in chunk(t))
    return {
        "id": t.id, "title": t.title, "date": t.date, "organisation": t.organisation, "source_url": t.source_url,
        "file": t.file, "speakers": list(t.speakers),
        "turns": [{"index": i, "speaker": tu.speaker, "role": tu.role, "affiliation": tu.affiliation,
                   "label": tu.label, "span": list(tu.span), "passages": passages[i],
                   "starts": " ".join(t.turn_text(tu).split()[:12])}
                  for i, tu in enumerate(t.turns)],
        "exchanges": [{"question": list(e.question), "answer": list(e.answer), "topic": e.topic} for e in t.exchanges],
        "warnings": structure_warnings(t),
    }


def format_inspection(t: Transcript) -> str:
    """`onrecord inspect` as text: metadata, one line per turn (its passages after its span; "-"
    for a spokesperson's turn that gives none: it answers nothing), the exchanges, the warnings."""
    d = describe(t)
    out = [f"file:         {t.file}", f"title:        {t.title}", f"date:         {t.date or 'unknown'}",
           f"organisation: {t.organisation or 'unknown'}", f"source:       {t.source_url or 'none'}",
           f"speakers:     {', '.join(t.speakers) or 'none'}",
           f"turns:        {len(t.turns)}, exchanges: {len(t.exchanges)}", "", "turns:"]
    for turn in d["turns"]:
        who = turn["speaker"] + (f" ({turn['affiliation']})" if turn["affiliation"] else "")
        parts = turn["passages"] or ("-" if turn["role"] in (SPOKESPERSON, UNKNOWN) else "")
        out.append(f"  {turn['index']:>4}  {turn['role']:<12} {who[:40]:<40} {turn['span'][0]:>7}-{turn['span'][1]:<7} "
                   f"{parts:>2}  {turn['starts'][:70]}")
    out += ["", "exchanges (question turns -> answer turns):"]
    for n, e in enumerate(d["exchanges"]):
        q = ",".join(map(str, e["question"])) or "-"
        out.append(f"  {n:>4}  {q:>12} -> {','.join(map(str, e['answer']))}" + (f"  [{e['topic']}]" if e["topic"] else ""))
    out += ["", "warnings:"] + ([f"  {w}" for w in d["warnings"]] or ["  none"])
    return "\n".join(out)


# --- what must never be inside an answer passage ---------------------------------------------

# another turn's label: at a paragraph start, or inline after a sentence end
LEAKED_LABEL = re.compile(
    r"(?:^|\n\n|(?<=[.?!\"”]) )(?:Q\.|Q:|QUESTION:|Question:|THE PRESIDENT[.:]|The President\.|"
    r"(?:MR|MRS|MS|DR|SECRETARY|AMBASSADOR|GENERAL)\.? [A-Z][A-Z'’\-]+:)(?= )"
)
# an editorial footnote: a numbered paragraph ("1 The text of the final communique ...")
FOOTNOTE = re.compile(r"(?:^|\n\n)(\d{1,2}) (?:The|See|Secretary|Senator|Representative|President|[A-Z][a-z]+ [A-Z])")
# the chair calling on a reporter: a name and its identification in brackets, alone
CALL = re.compile(r"(?:^|\n\n)(?:\[\d+\.\]\s*)?(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][\w'’\-]+(?: [A-Z][\w'’\-]+)*"
                  r"\s*\[[^\]]{3,120}\]\.?(?:\n\n|$)")


def passage_problems(passages) -> dict[str, list[str]]:
    """Answer passages that hold what is not the speaker's answer: another turn's label, a footnote
    paragraph, a call on a reporter, or that are only thanks and calls ("Go ahead."). Each found
    passage as where it is and the words around the problem, by problem."""
    found: dict[str, list[str]] = {"labels": [], "footnotes": [], "calls": [], "courtesies": []}
    for p in passages:
        for kind, pattern in (("labels", LEAKED_LABEL), ("footnotes", FOOTNOTE), ("calls", CALL)):
            m = pattern.search(p.text)

            if m:
                found[kind].append(f"{p.transcript_id}:{p.span[0]}: …{p.text[max(0, m.start() - 40):m.end() + 40]}…")
        if COURTESY.fullmatch(p.text.strip()):
            found["courtesies"].append(f"{p.transcript_id}:{p.span[0]}: {p.text}")
    return found
