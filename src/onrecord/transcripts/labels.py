"""Speaker labels and the other kinds of paragraph: each paragraph is classified (label,
heading, end, separator, note, call, text) by the label convention the file uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import QUESTIONER

QUESTION_NUMBER = r"\[ ?[0-9IlL]{1,3}\.? ?\]\.?\s*"  # "[16.] Q.", "[ 13.] Q."
_NUMBERING = f"(?:{QUESTION_NUMBER})?"
_Q_RE = re.compile(_NUMBERING + r"(?P<label>Q[.:]?|QUESTION:|Question:)(?=\s|$)\s*")
# the chair calling on a reporter, alone as a paragraph: "[9.] Mr. Horner [Garnett D. Horner,
# Washington Evening Star].", "Yes, Mr. Scali [John A. Scali, ABC News]." (the name in brackets is
# who asks next)
_CALL_RE = re.compile(
    r"(?:\[\d{1,3}\.?\]\.?\s*)?(?:(?:Yes|Yeah|All right|Okay)(?:, sir)?,? )?"
    r"(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][\w'’\-]+(?: [A-Z][\w'’\-]+){0,2}\s*"
    r"\[(?P<who>[^\[\]]{3,120})\]\.?"
)
# an editorial footnote: a paragraph that starts with a figure and a capitalised word ("1 The
# text of the final communique ..."); speech never does (a sentence does not start with a figure)
_NUMBERED_RE = re.compile(r"\d{1,2} [A-Z]")
# "MS. JEAN-PIERRE:", "SENIOR ADMINISTRATION OFFICIAL:", "THE PRESIDENT:"
# (a label may stand alone on its line, its text in the next paragraphs: hence `:(?:\s+|$)`)
_CAPS_COLON_RE = re.compile(r"(?P<label>[A-Z][A-Z.'’\- ]{0,60}[A-Z.]):(?:\s+|$)")
_HONORIFIC_TYPO_RE = re.compile(r"(?P<title>MR|MRS|MS|DR|MISS)\.?: (?P<name>[A-Z][A-Z'’\-]+):(?:\s+|$)")
# "THE PRESIDENT.", "MR. CORMIER.", "FRANCES L. LEWINE (Associated Press).", "REPORTER."
_CAPS_PERIOD_RE = re.compile(
    _NUMBERING
    + r"(?P<label>(?:THE\.? )?(?:(?:MR|MRS|MS|MISS|DR)\. )?[A-Z][A-Z'’\-]*(?: [A-Z]\.)?"
    r"(?: [A-Z][A-Z'’\-]+){0,3})(?: \((?P<outlet>[^()]{1,60})\))?\.(?:\s+|$)"
)
# "Jens Stoltenberg:", "Question [TV 2]:", "Merriman Smith (United Press International):"
# ("Speaker 35: (59:26)": a numbered speaker, and the time stamp a transcription service puts
# after the label, which is not speech)
_NAME_COLON_RE = re.compile(
    r"(?P<label>[A-Z][\w.'’\-]*(?: (?:[A-Z][\w.'’\-]*|de|van|von|der|\d{1,3})){0,3})"
    r"(?: [\[(](?P<outlet>[^\]()\d][^\]()]{0,59})[\])])?:(?:\s*\((?:\d{1,2}:)?\d{1,2}:\d{2}\))?(?:\s+|$)"
)

# Unlabelled question: "Philip Lote [NRK], NRK, Norwegian Broadcasting. Was the criticism ..."
_NAMED_QUESTION_RE = re.compile(
    r"(?P<label>[A-Z][\w'’\-]*(?: [A-Z][\w'’\-]*){0,3}) \[(?P<outlet>[^\]]{1,40})\],[^.?!]{0,80}\.\s+"
)
_TIME_RE = re.compile(r"(?:END\s*)?\(?\d{1,2}:\d{2}\s*[AP]\.\s*M\.(?:\s*[A-Z]{2,4})?\)?$")
_TRAILING_TIME_RE = re.compile(r"\s+(?:END\s+)?\d{1,2}:\d{2}\s*[AP]\.\s*M\.(?:\s*[A-Z]{2,4})?$")
_SEPARATOR_RE = re.compile(r"(?:\*\s*){3,}|-{3,}|_{3,}|#+|•")
_SPEECH_MARKER_RE = re.compile(
    r"(?P<name>[A-Z][\w.'’\-]*(?: [A-Z][\w.'’\-]*){0,3})['’]s? "
    r"(?:speech|statement|opening statement|opening remarks|remarks|introductory remarks)$",
    re.I,
)
_FOOTNOTE_RE = re.compile(r"\d{1,2}[A-Z][a-z]")
_QUESTIONER_LABELS = {"Q", "Q.", "QUESTION:", "Question:", "QUESTION", "Question", "REPORTER"}
# labels that name a role, not a person: a reporter, or the (unnamed) one who answers
GENERIC_QUESTIONERS = {"Q", "QUESTION", "UESTION", "REPORTER", "JOURNALIST", "AUDIENCE MEMBER", "QUESTIONER",
                       "REMARK", "VOICE", "VOICES", "AUDIENCE"}

GENERIC_ANSWERERS = {"A", "ANSWER"}
# staff who run the room: their turns hand over, they are no one's answer
STAFF_LABELS = {"AIDE", "STAFF", "OPERATOR", "THE OPERATOR", "HOST", "PRESS OFFICER", "PRESS AIDE"}
# an operator calling the next line on a press call: "The line is open.", "Our next question comes from ..."
_OPERATOR_RE = re.compile(r"\bthe line is (?:now )?open\b|^(?:our |the )?(?:next|first|last|final) question "
                          r"(?:comes |is )?(?:from|goes to)\b", re.I)
# a paragraph or turn that only thanks the room or hands over ("Thank you very much.", "Go ahead.",
# "Go ahead, Selina.", "Okay. Next question.", "Which one?"); "Yes, sir." may well answer, and is
# not one of them
COURTESY = re.compile(
    r"(?:(?:(?:thank you|thanks)(?:,? (?:very much|so much|all|everybody|everyone|guys|again|sir|ma['’]am|both))*"
    r"|go ahead(?:,? (?:sir|ma['’]am|(?-i:[A-Z][\w.'’\-]*(?: [A-Z][\w'’\-]*)?)))?|next question(?:,? please)?|which one"
    r"|(?:yes|yeah|sure|okay|ok|all right|oh)[.,]? (?:go ahead|please|next question))[.!?,]*\s*)+",
    re.I,
)
# a reporter asking for the floor, not yet asking: "Can I follow that up, sir?", "May I ask one more?"
FLOOR_BID = re.compile(
    r"(?:(?:(?:mr\.? president|sir|ma['’]am|madam (?:president|secretary)|mr\.? secretary)[,.?]?\s*)?"
    r"(?:can|could|may|might) I (?:just )?(?:follow(?: (?:that|this|on that))?(?: up)?"
    r"|ask(?: (?:you )?(?:a|one|another|two|a couple of) (?:more |quick |short |follow-up )?(?:questions?|follow-ups?|ones?))?)"
    r"(?:,? (?:sir|ma['’]am|mr\.? president|please))?[?.]+\s*)+",
    re.I,
)
# the floor given: "Yes, sir.", "Yes.", "Please." (an answer when a question came before it)
FLOOR_GIVEN = re.compile(r"(?:(?:yes|yeah|sure|okay|please)(?:,? (?:sir|ma['’]am))?[.!]\s*)+", re.I)
# a turn that only greets, thanks or asks for the floor ("Good afternoon.", "Hi.", "Thanks, Karine.",
# "Mr. President?"): a reporter's asks nothing, a spokesperson's answers nothing
GREETING = re.compile(
    r"(?:(?i:good (?:morning|afternoon|evening)|hi|hello|hey|thank you|thanks|sir|ma['’]am"
    r"|mr\.? president|madam president|mr\.? secretary|madam secretary)"
    r"(?:,? (?:(?i:sir|ma['’]am|all|everybody|everyone|guys|again|so much|very much)|[A-Z][\w.'’\-]*(?: [A-Z][\w'’\-]*)?))?"
    r"[.!?,]*\s*)+"
)
# a spokesperson's turn that only lets a reporter go on ("Yeah.", "Mm-hmm.", "Sure.", "Okay."):
# between two turns of a reporter's question it answers nothing ("Yes." and "No." may answer)
ACKNOWLEDGEMENT = re.compile(
    r"(?:(?:yeah|yep|sure|okay|ok|mm-hmm|mhm|uh-huh|go ahead|please|all right)[.,!]*\s*)+|\((?:laughs|laughter)\.?\)",
    re.I,
)


INTERPRETERS = {"INTERPRETER", "THE INTERPRETER", "TRANSLATOR", "THE TRANSLATOR", "INTERPRETATION"}

# the office of the one a transcript is about: the principal its metadata names, when it names one
PRINCIPAL_OFFICES = {"THE PRESIDENT", "THE. PRESIDENT", "PRESIDENT", "PRIME MINISTER", "THE PRIME MINISTER",
                     "CHANCELLOR", "THE CHANCELLOR", "PREMIER", "THE PREMIER"}


@dataclass
class _Para:
    start: int  # offset of the paragraph in the canonical text
    text: str
    kind: str = "text"  # text | label | heading | end | separator | stop | note
    label: str = ""
    outlet: str | None = None
    body_offset: int = 0  # where the speech starts within the paragraph (after the label)
    role_hint: str | None = None
    end_trim: int = 0  # characters cut from the end (a closing time stamp glued to speech)


def _is_heading(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 3 or any(c.islower() for c in letters):
        return False
    return len(text.split()) <= 16 and not text.endswith(":")


# "The President.", "Mr. Fitzwater.", "Secretary Baker.": a Title Case label ending in a period,
# taken as a label only when it starts at least RECURRING paragraphs (sentences start so too)
_TITLE_PERIOD_RE = re.compile(
    r"(?P<label>(?:The|Mr\.|Mrs\.|Ms\.|Dr\.|Secretary|Senator|General|Ambassador|Governor|Director|Minister) "
    r"[A-Z][a-z'’\-]+(?: [A-Z][a-z'’\-]+)?)\.(?:\s+|$)"
)
RECURRING = 3


def recurring_title_labels(paras: list[str]) -> set[str]:
    """Title Case period labels that start at least RECURRING paragraphs of the file."""
    counts: dict[str, int] = {}
    for p in paras:
        m = _TITLE_PERIOD_RE.match(p)
        if m:
            counts[m.group("label")] = counts.get(m.group("label"), 0) + 1
    return {label for label, n in counts.items() if n >= RECURRING}


# the end of what may be a label at the start of a paragraph: a period or colon, then a space
_LABEL_END_RE = re.compile(r"[.:](?:\s+|$)")


def _label_key(text: str) -> str:
    """A label as its words alone: 'THE, PRESIDENT', 'The PRESIDENT' -> 'THE PRESIDENT'."""
    return " ".join(re.sub(r"[^\w'’\-]+", " ", text).upper().split())


def _mark_label_variants(paras: list[_Para]) -> None:
    """A paragraph that starts with a label the file uses at least RECURRING times, typed with
    other letter case, closing mark or stray punctuation between its words ('The PRESIDENT.',
    'THE, PRESIDENT.', 'THE PRESIDENT:' in a file of 'THE PRESIDENT.'), is that label: otherwise
    the speech that follows is read as the turn before it (a reporter's question, or nothing)."""
    counts: dict[str, int] = {}
    for p in paras:
        if p.kind == "label" and p.label != "Q":
            counts[p.label] = counts.get(p.label, 0) + 1
    known = {_label_key(label): label for label, n in counts.items() if n >= RECURRING}
    if not known:
        return
    for p in paras:
        if p.kind not in ("text", "heading"):
            continue
        for end in _LABEL_END_RE.finditer(p.text[:64]):
            head = p.text[:end.start()]
            label = known.get(_label_key(head))
            # an upper-case word, as a label has and a sentence's first words do not
            if label and any(w.isupper() and len(w) > 1 for w in re.findall(r"[A-Za-z]+", head)):
                p.kind, p.label, p.body_offset, p.outlet = "label", label, end.end(), None
                break


def _is_title_case_heading(text: str) -> bool:
    """'Short-Range Nuclear Forces in Europe': a few words, mostly capitalised, no end punctuation."""
    words = text.split()
    if not 1 <= len(words) <= 10 or not text[0].isupper() or text[-1] in ".?!:;,\"”’)]":
        return False
    long_words = [w for w in words if len(w) > 3]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) >= 0.75 * len(long_words)


def _mark_title_case_headings(paras: list[_Para]) -> None:
    """A Title Case line of its own, right before a reporter's question, is a topic heading (as
    ALL-CAPS ones are); elsewhere such a line is left as speech."""
    for para, nxt in zip(paras, paras[1:]):
        if (para.kind == "text" and nxt.kind == "label" and nxt.role_hint == QUESTIONER
                and _is_title_case_heading(para.text)):
            para.kind = "heading"


def _choose_style(paras: list[str], title_labels: set[str] = frozenset()) -> str:
    """Which label convention the file uses: 'caps-colon', 'caps-period' or 'name-colon'."""
    counts = {"caps-colon": 0, "caps-period": 0, "name-colon": 0}
    for p in paras:
        if _CAPS_COLON_RE.match(p):
            counts["caps-colon"] += 1
        elif _CAPS_PERIOD_RE.match(p) and not _is_heading(p):
            counts["caps-period"] += 1
        elif (m := _TITLE_PERIOD_RE.match(p)) and m.group("label") in title_labels:
            counts["caps-period"] += 1
        elif _NAME_COLON_RE.match(p) or _NAMED_QUESTION_RE.match(p):
            counts["name-colon"] += 1
    best = max(counts, key=counts.get)
    return best if counts[best] else "none"


def _classify(para: _Para, style: str, title_labels: set[str] = frozenset()) -> None:
    text = para.text
    if _TIME_RE.fullmatch(text) or text.strip("[](). ").upper() in ("END", "ENDS") or text.startswith("END "):
        para.kind = "end"
        return
    if text in ("[...]", "[…]", "…", "..."):
        para.kind = "stop"
        return
    if len(text) <= 200 and (call := _CALL_RE.fullmatch(text)):
        who, _, outlet = call.group("who").partition(",")
        para.kind, para.label, para.outlet = "call", who.strip(), outlet.strip() or None
        return
    if _NUMBERED_RE.match(text):
        para.kind = "note"
        return
    if len(text) <= 200 and _SEPARATOR_RE.fullmatch(text):  # bounded: the pattern backtracks on long runs
        para.kind = "separator"
        return
    if text.startswith("[") and text.endswith("]") and "]" not in text[:-1]:
        para.kind = "separator"  # an editorial note such as "[Laughter]"
        return
    trailing = _TRAILING_TIME_RE.search(text)
    if trailing:
        para.end_trim = len(text) - trailing.start()
    m = _Q_RE.match(text)
    if m:
        para.kind, para.label, para.body_offset = "label", "Q", m.end()
        para.role_hint = QUESTIONER
        return
    m = None
    if style == "caps-colon" and (typo := _HONORIFIC_TYPO_RE.match(text)):
        para.kind, para.body_offset = "label", typo.end()  # "MR: ZIENTS:": the period typed as a colon
        para.label = f"{typo.group('title')}. {typo.group('name')}"
        return
    if style == "caps-colon":
        m = _CAPS_COLON_RE.match(text)
    elif style == "caps-period":
        m = _CAPS_PERIOD_RE.match(text)
        if m and _is_heading(text) and m.end() < len(text):
            m = None  # an ALL-CAPS heading that happens to contain "MR." or "U.S."
        if m is None and (t := _TITLE_PERIOD_RE.match(text)) and t.group("label") in title_labels:
            m = t
    elif style == "name-colon":
        m = _NAMED_QUESTION_RE.match(text)
        if m:
            para.role_hint = QUESTIONER
        else:
            m = _NAME_COLON_RE.match(text)
    if m:
        para.kind, para.body_offset = "label", m.end()
        para.label = m.group("label").strip()
        para.outlet = (m.groupdict().get("outlet") or None) and m.group("outlet").strip()
        return
    if len(text) <= 300 and (_OPERATOR_RE.search(text) or COURTESY.fullmatch(text)):
        para.kind = "separator"  # unlabelled: the operator calling the next line, or only thanks
        return
    if _is_heading(text):
        para.kind = "heading"
        return
    if style == "caps-period" and _FOOTNOTE_RE.match(text):
        para.kind = "note"
        return
    para.kind = "text"


