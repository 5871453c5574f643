"""HTML pages -> the visible text, with block elements as paragraph breaks and page furniture out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .source import Source

_HTML_WS_RE = re.compile(r"\s+")


def _fold_html_space(m: re.Match) -> str:
    return " " if "\n" in m.group() else m.group()


# page furniture by its class or id: photo blocks, share widgets, "see also" boxes, breadcrumbs.
# A whole token only ("media", "media__title", "share-buttons"; not "media-body", which wraps text)
_FURNITURE = re.compile(
    r"(?:media|photos?|gallery|slider|carousel|share|sharing|social|related|see-?also|breadcrumbs?|promo|advert|ads|"
    r"cookies?|newsletter|subscribe|caption|player|tags|print)(?:__[\w-]+|--[\w-]+|-(?:buttons?|links?|box|bar|block|list|widget))?"
)


def _is_furniture(attrs: dict) -> bool:
    tokens = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower().split()
    return any(_FURNITURE.fullmatch(t) for t in tokens) or (attrs.get("role") or "").lower() in ("navigation", "banner")


_PY_ESCAPED = re.compile(r"\\x[0-9a-fA-F]{2}|\\n")


def unescape_saved_html(markup: str) -> str:
    """HTML saved as the text of an escaped string (literal \\n and \\xc2\\xa0, perhaps inside b'...'),
    decoded: a page with many literal \\n and few real line breaks."""
    escapes = len(_PY_ESCAPED.findall(markup[:200_000]))
    if escapes < 20 or markup[:200_000].count("\n") * 5 > escapes:
        return markup
    body = markup.strip()
    if re.match(r"b?['\"]", body) and body[-1:] in "'\"":
        body = body[2:-1] if body.startswith("b") else body[1:-1]
    raw = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), body)
    raw = raw.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "").replace("\\'", "'").replace('\\"', '"')
    try:  # the \xNN escapes were UTF-8 bytes
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


class _HTMLText(HTMLParser):
    """Visible text of an HTML page with block elements as paragraph breaks."""

    SKIP = {"script", "style", "nav", "header", "footer", "noscript", "svg", "form", "button", "aside", "template",
            "figure", "figcaption", "picture", "video", "audio", "iframe", "select"}
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "tr", "blockquote", "pre", "hr"}
    VOID = {"br", "hr", "img", "meta", "link", "input", "source", "wbr", "area", "base", "col", "embed", "track"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.furniture: list[str] = []  # the open elements of a skipped block (photo, share box, see also)
        self.title = ""
        self.in_title = False
        self.meta: dict = {}

    def handle_starttag(self, tag, attrs):
        if self.furniture:  # inside page furniture: only count its nesting
            if tag not in self.VOID:
                self.furniture.append(tag)
            return
        if tag not in self.VOID and tag not in self.SKIP and _is_furniture(dict(attrs)):
            self.furniture.append(tag)
            return
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "meta":
            a = dict(attrs)
            key = (a.get("property") or a.get("name") or "").lower()
            if key in ("og:url",) and a.get("content"):
                self.meta["source_url"] = a["content"]
            elif key in ("article:published_time", "date", "dc.date") and a.get("content"):
                self.meta["date"] = a["content"][:10]
            elif key in ("og:title",) and a.get("content"):
                self.meta["title"] = a["content"]
        elif tag == "link" and dict(attrs).get("rel") == "canonical":
            self.meta.setdefault("source_url", dict(attrs).get("href"))
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if self.furniture:
            if tag in self.furniture:  # close up to the matching open element
                while self.furniture and self.furniture.pop() != tag:
                    pass
            return
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag == "title":
            self.in_title = False
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        elif not self.skip and not self.furniture:
            # inline whitespace inside HTML is not a paragraph break (one pass over each run of
            # white space: a pattern such as \s*\n\s* rescans long runs and is quadratic)
            self.parts.append(_HTML_WS_RE.sub(_fold_html_space, data))


def html_to_source(markup: str, file: str) -> Source:
    parser = _HTMLText()
    parser.feed(unescape_saved_html(markup))

    parser.close()
    meta = dict(parser.meta)
    if parser.title.strip() and "title" not in meta:
        meta["title"] = parser.title.strip()
    text = "".join(parser.parts)
    # HTML has no markdown: protect literal backslashes and asterisks from markdown decoding
    return Source(text=text.replace("\\", "\\\\").replace("*", "\\*"), file=file, meta=meta)


