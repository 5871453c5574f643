"""Turns that answer nothing: which of a spokesperson's turns in an answer's place are no answer.

A spokesperson's turn after a question is not always its answer. It may only thank or greet
("Thanks, everybody.", "Hi."), give the floor to the next speaker ("Go ahead, Nancy.", "Aamer.",
"Dr. Walensky." before Dr. Walensky answers), run the room ("Okay. Last two in the back. Go
ahead.", "Say that again."), be a stage note ("(Laughs.)") or be cut off before its first sentence
ended ("So —"). Such turns stay in the transcript (turns, exchanges, the context view) but are no
answer passages. Every rule is about what the turn says (and, for a name alone, who speaks next),
never about a file or a speaker.
"""

from __future__ import annotations

import re

from .models import QUESTIONER, Transcript
from .transcripts.labels import ACKNOWLEDGEMENT, COURTESY, GREETING

_STAGE_NOTE = re.compile(r"[(\[][^()\[\]]{1,60}[)\]]")  # "(Laughs.)", "(Cross-talk.)", "[Inaudible]"
# a word the speaker says before thanking, greeting or calling: "All right. Good afternoon, everyone."
_LEAD = re.compile(r"(?:(?:all right|alright|okay|ok|yeah|sure|great|right)[.!,]\s+)+", re.I)
_SIR = re.compile(r"(?:sir|ma['’]am)[.!?]*", re.I)  # "Yeah, sir." may answer
CALL_WORDS = 4  # a call on the next speaker is a name or two: "Jeff Mason.", "Dr. Walensky?", "Russell — Gabe."
_TITLES = {"dr", "mr", "mrs", "ms", "miss", "madam", "secretary", "ambassador", "admiral", "general", "senator",
           "governor", "director", "administrator", "surgeon"}
_HANDS_OVER = {"go", "ahead", "please"}  # "Kelly, go ahead."
_INITIALS = re.compile(r"(?:[A-Z]\.){2,3}")  # "J.J."
_LOWER_WORD = re.compile(r"(?<![\w'’\-])[a-z][\w'’\-]*")
# a sentence that runs the room: calls and the floor ("Last two in the back.", "April, you have the
# last one.", "Dr. Fauci, why don't we start with you?"), asking to hear a question again, closing
_NAME = r"(?-i:[A-Z][\w.'’\-]*(?: [A-Z][\w'’\-]*)?)"
_ROOM = re.compile(
    r"(?:(?:okay|ok|all right|alright|great|sure|yeah|so|oh|well|and)[.,!]?\s+)*(?:"
    rf"(?:{_NAME},? )?go ahead(?:,? (?:{_NAME}|in the back|sir|ma['’]am|quickly|please))*"
    r"|(?:(?:we['’]re going to|we['’]ll|let['’]s|i['’]ll) (?:do|take) )?(?:(?:that|the|one|two|our) )?(?:last|final) "
    rf"(?:one|two|question|questions)(?:,? (?:{_NAME}|in the back|go ahead))*"
    rf"|(?:{_NAME},? )?you(?:['’]ve| have)(?: got)? the (?:last|final|next) (?:one|question)"
    rf"|(?:just )?(?:one|two|a couple(?: of)?) more(?: questions?)?(?:,? (?:{_NAME}|please|in the back))*"
    r"|in the back|(?:(?:we(?:['’]re| are)|i(?:['’]m| am)) )?going to (?:start )?(?:wrap(?:ping)? (?:it |this )?up)"
    r"|(?:we )?(?:have|need|got) to wrap (?:it |this )?up|let['’]s wrap (?:it |this )?up"
    rf"|(?:(?:let['’]s|let me|why don['’]t we|we['’]ll) (?:start|begin|kick (?:it )?off) with (?:you|{_NAME})(?:,? {_NAME})?"
    rf"|{_NAME},? (?:why don['’]t we|do you want to|you want to|can you) (?:start|begin|take that|kick (?:it|us) off)"
    r"(?: with (?:you|that|this))?"
    rf"|let me ask {_NAME} to (?:take|answer|start with) (?:that|this)|(?:let['’]s )?kick (?:it|us) off(?:,? {_NAME})?"
    r"|(?:does )?any(?:body|one)(?: else)? want to (?:add|jump in)(?: to that| anything)?|whoever wants to (?:go|start))"
    r"|(?:i['’]m (?:so )?sorry[.,]? )?say that (?:again|one more time|last part)(?:[.,]? i['’]m (?:so )?sorry)?"
    r"|(?:i['’]m (?:so )?sorry|pardon|hold on(?: (?:one|a) (?:second|sec|minute))?|wait(?: a minute)?)"
    r"|(?:thanks|thank you)(?:,? (?:everybody|everyone|all|guys|so much))*[.,!]?(?: and)? have a (?:good|great|nice) "
    r"(?:day|weekend|night|evening|one)|have a (?:good|great|nice) (?:day|weekend|night|evening|one)"
    r")[.!?,]*",
    re.I,
)
_ROOM_SENTENCE = re.compile(r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bMrs\.)(?<=[.!?])\s+")
ROOM_WORDS = 20  # a turn that only runs the room is short
CUT_OFF_WORDS = 5  # "So —", "Well, the President —", "The CDC guidelines —": cut off before a sentence ended
_CUT_OFF = re.compile(r"[^.!?…]*[^\s.!?…][ \t]*[—–]\s*")


def lower_words(text: str) -> set[str]:
    """The words a transcript writes in lower case (a capitalised word not among them is a name)."""
    return set(_LOWER_WORD.findall(text))


def answers_nothing(transcript: Transcript, ti: int, said: str, lower: set[str]) -> bool:
    """Whether spokesperson turn `ti` (its text `said`, stripped) answers nothing; `lower` is
    `lower_words(transcript.text)`."""
    return _no_answer(said) or _calls(transcript, ti, said, lower) or _runs_the_room(said, lower)


def greets(text: str) -> bool:
    """A turn that only greets or thanks ("Good afternoon.", "Thanks, Karine.")."""
    return len(text.split()) <= 8 and GREETING.fullmatch(text) is not None


def _no_answer(text: str) -> bool:
    """A spokesperson's turn that answers nothing: "Go ahead, Selina.", "Hi.", "(Laughs.)", also
    after "All right." or "Okay." ("All right. Thanks, everybody."), and a turn cut off before its
    first sentence ended ("So —", "The CDC guidelines —"; not "No —", which may answer)."""
    rest = text[m.end():] if (m := _LEAD.match(text)) else text
    if rest and not _SIR.fullmatch(rest) and (COURTESY.fullmatch(rest) or _STAGE_NOTE.fullmatch(rest) or greets(rest)):
        return True
    return (len(text.split()) <= CUT_OFF_WORDS and _CUT_OFF.fullmatch(text) is not None
            and text.split()[0].strip(",.").lower() not in ("no", "yes"))


def _runs_the_room(text: str, lower: set[str]) -> bool:
    """A short turn every sentence of which runs the room (calls, the floor, "Say that again.",
    closing), thanks, greets, acknowledges or is a name, and not only acknowledgements ("Okay.
    Last two in the back. Go ahead.", "Okay, one more. April. Okay.", "Dr. Fauci, why don't we
    start with you?"): it answers nothing."""
    if len(text.split()) > ROOM_WORDS:
        return False
    sentences = [x for x in _ROOM_SENTENCE.split(_STAGE_NOTE.sub(" ", text).strip()) if x]
    room = False
    for x in sentences:
        if _ROOM.fullmatch(x):
            room = True
        elif not (ACKNOWLEDGEMENT.fullmatch(x) or COURTESY.fullmatch(x) or greets(x) or _names(x, lower)):
            return False
    return room


def _names(text: str, lower: set[str]) -> set[str] | None:
    """The names a turn made of names alone says ("Jeff Mason.", "Dr. Walensky?", "Okay. Kelly, go
    ahead."), in lower case, or None. A name is a capitalised word the transcript never writes in
    lower case ("Forces." is a word), or initials; titles ("Dr.") and "go ahead" may stand beside."""
    rest = text[m.end():] if (m := _LEAD.match(text)) else text
    words = [w.strip(".,?!;:") for w in _STAGE_NOTE.sub(" ", rest).replace("—", " ").replace("–", " ").split()]
    words = [w for w in words if w]
    if not 0 < len(words) <= CALL_WORDS + 2 or rest.rstrip()[-1:] not in (".", "?", "!", "—", ")", "]"):  # + "go ahead"
        return None
    names = set()
    for w in words:
        if w.lower() in _TITLES or w.lower() in _HANDS_OVER:
            continue
        if not (_INITIALS.fullmatch(w + ".") or (w[0].isupper() and w.lower() not in lower)):
            return None
        names.add(w.lower().strip("."))
    return names if 0 < len(names) <= CALL_WORDS else None


def _calls(transcript: Transcript, ti: int, said: str, lower: set[str]) -> bool:
    """A spokesperson's turn of names alone that gives the floor, not an answer: to the colleague it
    names, who speaks next ("Dr. Fauci." after a reporter's question), or to a reporter right after
    the spokesperson's own words (no question is waiting for an answer then: "Aamer.")."""
    if len(said) > 100 or ti + 1 >= len(transcript.turns) or (names := _names(said, lower)) is None:
        return False
    before, after = transcript.turns[ti - 1] if ti else None, transcript.turns[ti + 1]
    if after.role == QUESTIONER:
        return before is None or before.role != QUESTIONER
    return bool(names & {w.strip(".").lower() for w in after.speaker.split()})
