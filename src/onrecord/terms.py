"""The words of a text for lexical search: lower case, stop words out (shared by store and search)."""

import re

STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can could did didn't do does doesn't doing don't down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is isn't it it's its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that that's the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves say said says tell told think thinks get got us also still going
    whether let lets any much many way ask asked new""".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")


def terms_of(text: str) -> list[str]:
    """Content words of a question, lower case, without stop words (for lexical search)."""
    out = []
    for w in _WORD.findall(text):
        w = w.lower().replace("’", "'").strip("'-")
        if w.endswith("'s"):
            w = w[:-2]
        if w and w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
            out.append(w)
    return list(dict.fromkeys(out))
