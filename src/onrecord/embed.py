"""An answer other tools can embed: its small HTML page (`/a/{id}`), the `<iframe>` snippet and
the oEmbed response that point at it.

The page is self-contained (inline style, no script, no font or image from elsewhere): the quote,
the speaker, the date, the occasion linked to its source, the question asked, and "on the record
via onrecord" linking back to the page. Everything from a transcript is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import quote, urlsplit

from .errors import BadQuery
from .models import Answer
from .permalink import AnswerContext

# the iframe's default size (oEmbed's maxwidth/maxheight may shrink it); a long quote scrolls
# inside it, the speaker, the date, the source and the credit stay in view
WIDTH, HEIGHT = 560, 300
MAX_ASKED_WORDS = 40
PAGE_PATH = "/a/"
# a page shown inside other sites' frames: nothing but its own inline style
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

_STYLE = """
html,body{height:100%}
body{margin:0;font:15px/1.45 Georgia,'Times New Roman',serif;color:#1a1a1a;background:#fff}
.onrecord-embed{box-sizing:border-box;height:calc(100% - 8px);margin:4px;display:flex;flex-direction:column;
  border:1px solid #d0d0d0;border-left:4px solid #1f4e79;border-radius:4px;padding:12px 16px}
blockquote{margin:0 0 8px 0;font-size:16px;flex:1 1 auto;overflow-y:auto;min-height:3em}
.who{font:600 13px/1.4 system-ui,sans-serif}
.meta,.asked,.via{font:12px/1.4 system-ui,sans-serif;color:#555}
.asked{margin:0 0 6px 0}
a{color:#1f4e79}
"""


def long_date(iso: str | None) -> str:
    """"6 January 2020" (the UI's and the embed's way of giving a date)."""
    if not iso:
        return "undated"
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B %Y')}"


def _link(url: str | None, text: str) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{html.escape(text)}</a>'
    return html.escape(text)


def title_of(a: Answer) -> str:
    return f"{a.speaker}, {a.transcript.title}, {long_date(a.transcript.date)}"


def page_html(ctx: AnswerContext, page_url: str, oembed_url: str) -> str:
    """The answer's own page: what an iframe shows."""
    a = ctx.answer
    words = (a.asked or "").split()
    asked = " ".join(words[:MAX_ASKED_WORDS]) + (" …" if len(words) > MAX_ASKED_WORDS else "")
    who = html.escape(a.speaker) + (f", {html.escape(a.transcript.organisation)}" if a.transcript.organisation else "")
    quote_html = html.escape(a.text).replace("\n\n", "<br><br>")
    said_again = ""
    if a.also_said:
        said_again = f" · said {len(a.also_said) + 1} times since {html.escape(long_date(a.first_said))}"
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title_of(a))}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="alternate" type="application/json+oembed" href="{html.escape(oembed_url, quote=True)}" '
        f'title="{html.escape(title_of(a), quote=True)}">'
        f"<style>{_STYLE}</style></head><body><div class=\"onrecord-embed\">"
        + (f'<p class="asked">Asked{" (" + html.escape(a.asked_by) + ")" if a.asked_by else ""}: {html.escape(asked)}</p>'
           if asked else "")
        + f"<blockquote>“{quote_html}”</blockquote>"
        f'<div class="who">{who}</div>'
        f'<div class="meta">{html.escape(long_date(a.transcript.date))} · {_link(a.transcript.source_url, a.transcript.title)}'
        f"{said_again}</div>"
        f'<div class="via"><a href="{html.escape(page_url, quote=True)}" target="_blank" rel="noopener">'
        "on the record via onrecord</a></div></div></body></html>"
    )


def iframe(page_url: str, a: Answer, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The snippet a newsroom pastes into its page."""
    return (f'<iframe src="{html.escape(page_url, quote=True)}" width="{width}" height="{height}" '
            f'title="{html.escape(title_of(a), quote=True)}" style="border:0" loading="lazy"></iframe>')


def answer_id_of_url(url: str) -> str:
    """The answer id of a page URL (…/a/{id}); BadQuery for any other URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https", "") or PAGE_PATH not in parts.path:
        raise BadQuery("url must be an onrecord answer page: http(s)://HOST/a/{id}")
    value = parts.path.rsplit(PAGE_PATH, 1)[1]
    if not value or "/" in value:
        raise BadQuery("url must be an onrecord answer page: http(s)://HOST/a/{id}")
    return value


def oembed(ctx: AnswerContext, page_url: str, provider_url: str, maxwidth: int | None = None,
           maxheight: int | None = None) -> dict:
    """The oEmbed 1.0 "rich" response for an answer's page."""
    a = ctx.answer
    width = min(WIDTH, maxwidth) if maxwidth else WIDTH
    height = min(HEIGHT, maxheight) if maxheight else HEIGHT
    return {"type": "rich", "version": "1.0", "title": title_of(a), "author_name": a.speaker,
            "author_url": a.transcript.source_url if (a.transcript.source_url or "").startswith(("http://", "https://")) else None,
            "provider_name": "onrecord", "provider_url": provider_url,
            "html": iframe(page_url, a, width, height), "width": width, "height": height}


def page_url(base: str, answer_id: str) -> str:
    return base.rstrip("/") + PAGE_PATH + quote(answer_id, safe="")
