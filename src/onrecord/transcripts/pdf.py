"""PDF transcripts with a text layer (pypdf): the text of each page, without page furniture.

A line that repeats at the top or the bottom of most pages (a running header or footer) and a
line that is only a page number ("7", "Page 7 of 12", "- 7 -") are removed; the pages are joined
so that a paragraph broken by a page break reads on. A PDF without a text layer (a scan) is
refused with that reason.
"""

from __future__ import annotations

import io
import re
from collections import Counter

from ..errors import TranscriptError

_PAGE_NUMBER = re.compile(r"(?:page\s+)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s+of\s+\d{1,4})?", re.I)
EDGE_LINES = 3  # lines at the top and bottom of a page that may be furniture
MAX_PAGES = 2000


def pdf_text(data: bytes) -> tuple[str, dict]:
    """The text of a PDF and its metadata (title, date) where the PDF records them."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - a dependency
        raise TranscriptError("reading PDF needs the pypdf package") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) > MAX_PAGES:
            raise TranscriptError(f"the PDF has {len(reader.pages)} pages; at most {MAX_PAGES} are read")
        pages = [(page.extract_text() or "").replace("\r\n", "\n").split("\n") for page in reader.pages]
        info = reader.metadata or {}
    except TranscriptError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise TranscriptError(f"not a readable PDF ({type(exc).__name__}: {str(exc)[:120]})") from None
    lines = [[line.rstrip() for line in page] for page in pages]
    if not any(line.strip() for page in lines for line in page):
        raise TranscriptError("the PDF has no text layer (a scan?): nothing to read")
    furniture = _running_lines(lines)
    kept = []
    for page in lines:
        body = [line for i, line in enumerate(page)
                if not ((i < EDGE_LINES or i >= len(page) - EDGE_LINES)
                        and (line.strip() in furniture or _PAGE_NUMBER.fullmatch(line.strip())))]
        kept.append("\n".join(body).strip("\n"))
    meta = {}
    if getattr(info, "title", None):
        meta["title"] = str(info.title)
    return "\n".join(kept), meta


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines standing at a page's top or bottom on more than half of the pages (at least 3)."""
    if len(pages) < 3:
        return set()
    seen = Counter()
    for page in pages:
        edges = {line.strip() for line in page[:EDGE_LINES] + page[-EDGE_LINES:] if line.strip()}
        seen.update(edges)
    return {line for line, n in seen.items() if n > len(pages) / 2}
