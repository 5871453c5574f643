"""The chat UI (Gradio 6 Blocks), mounted into the FastAPI app at `/`.

A reporter asks; each answer is a card with the verbatim quote (best sentences highlighted), who
said it, when, the question that was put, and a link to the source. Beside the chat: filters,
the selected answer's ready-to-paste citation and its place in the transcript, a timeline of how
often the topic came up, and an upload panel.
"""

from __future__ import annotations

import datetime as dt
import hmac
import html
import re
from dataclasses import replace
from pathlib import Path

import gradio as gr
import pandas as pd

from .conversation import read_question
from .embed import iframe, long_date, page_url
from .errors import OnrecordError
from .models import Answer, SearchResult, answer_id
from .service import Onrecord
from .transcripts import SUFFIXES

ANY_SPEAKER = "Any speaker"
CSS = """
.onrecord-card {border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; margin: 6px 0;}
.onrecord-card mark {background: #fff3a3; padding: 0 1px;}
.onrecord-meta {font-size: 0.9em; color: #444;}
.onrecord-asked {font-size: 0.9em; color: #555; font-style: italic; margin: 4px 0;}
.onrecord-weak {opacity: 0.75;}
#onrecord-context {max-height: 420px !important; overflow-y: auto !important;}
@media (max-width: 640px) {
  #onrecord-ask-row {flex-direction: column !important;}
  #onrecord-ask-row > * {width: 100% !important; min-width: 0 !important; flex: 1 1 auto !important;}
}
"""


def highlighted(text: str, marks) -> str:
    """HTML of text with the highlight ranges in <mark>; everything escaped."""
    out, at = [], 0
    for a, b in sorted(marks):
        if a < at:
            continue
        out += [html.escape(text[at:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        at = b
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n\n", "<br><br>")


def quoted_part(a: Answer, highlighted_only: bool = False) -> str:
    """The words to quote: the whole answer, or from the first highlighted sentence to the end of
    the last (one contiguous run of the answer: the quote stays verbatim)."""
    if highlighted_only and a.highlights:
        start, end = min(h[0] for h in a.highlights), max(h[1] for h in a.highlights)
        return " ".join(a.text[start:end].split())
    return " ".join(a.text.split())


def citation(a: Answer, highlighted_only: bool = False) -> str:
    """A ready-to-paste attribution in plain text: speaker, organisation, occasion, date, the quote."""
    who = a.speaker + (f", {a.transcript.organisation}" if a.transcript.organisation else "")
    src = f" ({a.transcript.source_url})" if a.transcript.source_url else ""
    return f"{who}, {a.transcript.title}, {long_date(a.transcript.date)}: “{quoted_part(a, highlighted_only)}”{src}"


def card(n: int, a: Answer) -> str:
    t = a.transcript
    title = html.escape(t.title)
    if t.source_url and t.source_url.startswith(("http://", "https://")):
        title = f'<a href="{html.escape(t.source_url, quote=True)}" target="_blank" rel="noopener">{title}</a>'
    asked = ""
    if a.asked:
        who = f" ({html.escape(a.asked_by)})" if a.asked_by else ""
        asked = f'<div class="onrecord-asked">Asked{who}: {html.escape(a.asked)}</div>'
    weak = (" · excerpt" if a.excerpt else "") + (" · weak match" if a.weak else "")
    again = f" · {said_again(a)}" if a.also_said else ""
    link = f' · <a href="/a/{html.escape(a.id, quote=True)}" target="_blank" rel="noopener">permalink</a>'
    return (
        f'<div class="onrecord-card{" onrecord-weak" if a.weak else ""}">'
        f'<div class="onrecord-meta"><b>{n}. {html.escape(a.speaker)}</b> · {long_date(t.date)} · {title}{weak}'
        f'<span class="onrecord-again">{again}</span>{link}</div>'
        f"{asked}<div>“{highlighted(a.text, a.highlights)}”</div></div>"
    )


def said_again(a: Answer) -> str:
    """"said 3 times since 6 January 2020": the answer's words on other occasions too."""
    return f"said {len(a.also_said) + 1} times since {long_date(a.first_said)}"


_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")


def site_of(request) -> str:
    """This server's address as the reader's browser reached it ("http://HOST:PORT"), for links
    meant to be pasted elsewhere; "" when the request does not say."""
    headers = {k.lower(): v for k, v in dict(getattr(request, "headers", None) or {}).items()}
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    proto = headers.get("x-forwarded-proto", "http")
    if not _HOST.fullmatch(host) or proto not in ("http", "https"):
        return ""
    return f"{proto}://{host}"


def embed_snippet(a: Answer, site: str) -> str:
    """The <iframe> a newsroom pastes to embed an answer."""
    return iframe(page_url(site, a.id), a)


def render(result: SearchResult, context_note: str = "") -> str:
    parts = []
    if context_note:
        parts.append(f'<div class="onrecord-meta">{html.escape(context_note)}</div>')
    if result.no_answer:
        parts.append("<p><b>Nothing on the record answers this.</b> The closest passages, all weak matches:</p>")
    parts += [card(n, a) for n, a in enumerate(result.answers, 1)]
    if not result.answers:
        parts.append("<p><b>Nothing on the record answers this.</b></p>")
    return '<div class="onrecord-answers">' + "\n".join(parts) + "</div>"


_FRAGMENT = re.compile(r"—|–|--|\.\.\.|…|^(?:and|but|so|or|because|if|sorry|okay|ok|yeah|well)\b", re.I)


VERDICTS = {"verbatim": "On the record, word for word", "close": "Close: the same statement with words changed",
            "not_found": "Not on the record"}


def verdict_card(v) -> str:
    """A checked quote: the verdict, the original as a card, what differs, who else said it."""
    head = VERDICTS[v.verdict] + (f" (similarity {v.similarity:.2f})" if v.verdict == "close" else "")
    out = [f'<div class="onrecord-verdict-{v.verdict}"><b>{html.escape(head)}</b>'
           + (f" · {html.escape(v.reason)}" if v.reason else "") + "</div>"]
    if v.match:
        out.append(card(1, v.match))
    if v.differences:
        rows = "".join(f"<li>quoted “{html.escape(d.quoted or '—')}”, said “{html.escape(d.said or '—')}”</li>"
                       for d in v.differences)
        out.append(f'<div class="onrecord-meta">What differs:<ul>{rows}</ul></div>')
    if v.elsewhere:
        out += ['<div class="onrecord-meta">Said by someone else:</div>', card(1, v.elsewhere)]
    return "".join(out)


def complete_question(text: str) -> bool:
    """A question a reader can use as it stands: one sentence-like question, capitalised, no
    trailing-off or cut-in dashes, not a follow-up ("And ...", "So ...")."""
    text = " ".join(text.split())
    return (40 <= len(text) <= 140 and text[0].isupper() and text.endswith("?") and text.count("?") == 1
            and not _FRAGMENT.search(text))


def example_questions(core: Onrecord, n: int = 4) -> list[str]:
    """Real questions asked in the loaded transcripts: complete ones (see complete_question), one
    per transcript, newest transcripts first."""
    with core.using() as searcher:
        rows = searcher.store.asked_questions(2000)
    chosen: dict[str, str] = {}
    for tid, asked in rows:
        if tid not in chosen and complete_question(asked):
            chosen[tid] = " ".join(asked.split())
    return list(chosen.values())[:n]


def first_words(text: str, n: int = 8) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def reading_notes(q) -> list[str]:
    """How the question was read, as the reader should be told: misspelt names and the speakers
    they were read as, and the months it dates itself to."""
    notes = [f"Reading ‘{typed}’ as {name}" for typed, name in q.read_as]
    months = [dt.date(int(m[:4]), int(m[5:7]), 1).strftime("%B %Y") for m in q.months]
    if months:
        notes.append(f"Answers from {' and '.join(months)} first")
    return notes


def active_filters(speaker: str | None, since: str | None, until: str | None) -> str:
    """The filters a search used, said plainly ("Filters: speaker John Kirby · since 2024-01-01")."""
    parts = [f"speaker {speaker}"] * bool(speaker) + [f"since {since}"] * bool(since) + [f"until {until}"] * bool(until)
    return "Filters: " + " · ".join(parts) if parts else ""


def filter_bar(speaker: str | None, since: str | None, until: str | None) -> tuple:
    """The filter bar above the chat: what is active, and the button that clears it."""
    text = active_filters(speaker, since, until)
    return gr.update(value=f"**{text}**" if text else ""), gr.update(visible=bool(text))


def upload_report(report) -> str:
    """An upload's result, file by file: what was added (title, date, id, speakers found), what was
    already indexed, what failed and why, and the warnings."""
    lines = [f"Added {len(report.added)} transcript(s), {report.passages} passages."]
    lines += [f"  {t.file}: “{t.title}” ({long_date(t.date)}), id {t.id}: {', '.join(t.speakers) or 'no spokesperson found'}"
              for t in report.added]
    lines += [f"  {name}: already in the index" for name in report.duplicates]
    lines += [f"  {name}: failed: {reason}" for name, reason in report.failed]
    lines += [f"  {name}: warning: {note}" for name, note in report.notes]
    return "\n".join(lines)


def strong_answers(result: SearchResult) -> bool:

    """Whether anything on the record answers (the chart shows only then)."""
    return any(not a.weak for a in result.answers)


def timeline(result: SearchResult) -> pd.DataFrame:
    """How often the topic came up: answers (not weak) per year."""
    years: dict[str, int] = {}
    for a in result.answers:
        if not a.weak and a.transcript.date:
            years[a.transcript.date[:4]] = years.get(a.transcript.date[:4], 0) + 1
    return per_year(years)


def per_year(years: dict[str, int]) -> pd.DataFrame:
    """The chart's data. Years are text, also when there are none: an empty frame of floats made
    the chart's x axis numeric for good ("2,019.5")."""
    return pd.DataFrame({"year": pd.Series(sorted(years), dtype=str),
                         "answers": pd.Series([years[y] for y in sorted(years)], dtype=int)})


def context_html(core: Onrecord, a: Answer) -> str:
    """The whole exchange around an answer, in its transcript, the answer highlighted."""
    with core.using() as searcher:
        t = searcher.store.transcript(a.transcript.id)
    idx = next((i for i, tu in enumerate(t.turns) if tu.span[0] <= a.span[0] < tu.span[1] + 1), None)
    if idx is None:
        return ""
    lo, hi = max(0, idx - 2), min(len(t.turns), idx + 2)
    rows = []
    for tu in t.turns[lo:hi]:
        text = t.turn_text(tu)
        if tu.span[0] <= a.span[0] and a.span[1] <= tu.span[1]:
            body = highlighted(text, [(a.span[0] - tu.span[0], a.span[1] - tu.span[0])])
        else:
            body = html.escape(text).replace("\n\n", "<br><br>")
        who = html.escape(tu.speaker) + (f" ({html.escape(tu.affiliation)})" if tu.affiliation and tu.affiliation != tu.speaker else "")
        rows.append(f"<p><b>{who}:</b> {body}</p>")
    occasions = ""
    if a.also_said:
        items = "".join(
            f'<li>{long_date(x.transcript.date)} · <a href="/a/{html.escape(answer_id(x.transcript.id, x.span), quote=True)}" '
            f'target="_blank" rel="noopener">{html.escape(x.transcript.title)}</a> (similarity {x.similarity:.2f})</li>'
            for x in a.also_said)
        occasions = (f"<div class='onrecord-meta' id='onrecord-occasions'><b>{html.escape(said_again(a).capitalize())}</b>"
                     f"<ul>{items}</ul></div>")
    return (f"<div class='onrecord-card'><div class='onrecord-meta'><b>In the transcript</b> · {html.escape(t.title)}, "
            f"{long_date(t.date)} · id {html.escape(t.id)}</div>{occasions}{''.join(rows)}</div>")


def _text(value) -> str:
    """An event input the browser sent, as plain text: anything but a string counts as empty (the
    UI takes only strings from the browser; file entries and other structures are never read)."""
    return value if isinstance(value, str) else ""


def in_upload_folder(path: str) -> Path | None:
    """The path of a file the browser uploaded into Gradio's upload folder, or None for any other
    path (an event can name any path: only uploads may be read)."""
    import gradio.utils

    folder = Path(gradio.utils.get_upload_folder()).resolve()
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if resolved.is_relative_to(folder) and resolved != folder and resolved.is_file():
        return resolved
    return None


def _discard_upload(path: Path) -> None:
    """Uploaded files are read once: delete each (and its folder, when empty) after the ingest."""
    import gradio.utils

    folder = Path(gradio.utils.get_upload_folder()).resolve()
    try:
        path.unlink()
        if path.parent != folder and path.parent.is_relative_to(folder):
            path.parent.rmdir()
    except OSError:
        pass


# after each answer: scroll the chat so that the newest answers start at its top (the best one
# first in view; scrolling to the very bottom would show the fifth)
SCROLL_TO_NEWEST_JS = """() => { setTimeout(() => {
  const chat = document.querySelector('#onrecord-chat');
  const all = chat ? chat.querySelectorAll('.onrecord-answers') : [];
  if (!all.length) return;
  const newest = all[all.length - 1];
  let box = newest.parentElement;
  while (box && box !== chat && !(box.scrollHeight > box.clientHeight + 4 && /auto|scroll/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  if (!box || box === chat) return;
  box.scrollTop += newest.getBoundingClientRect().top - box.getBoundingClientRect().top - 60;
}, 150); return []; }"""

KEY_COOKIE_JS = """(key) => {
  document.cookie = "onrecord_key=" + encodeURIComponent(key || "") + "; path=/; SameSite=Strict";
  return [];
}"""


def build_ui(core: Onrecord) -> gr.Blocks:
    """The Blocks app. Nothing from the index is in its configuration (which the page embeds, even
    before a login): the speaker list and the example questions arrive with the page's load event."""
    needs_key = bool(core.settings.api_key)

    def on_load():
        with core.using() as searcher:
            speakers = [ANY_SPEAKER] + searcher.known_speakers()
        examples = example_questions(core)
        return gr.update(choices=speakers, value=ANY_SPEAKER), gr.update(samples=[[e] for e in examples]), examples

    def use_example(index, examples):
        if isinstance(index, int) and 0 <= index < len(examples or []):
            return examples[index]
        return gr.update()

    def ask(question, history, speaker, since, until, ctx, request: gr.Request):
        history = list(history or [])
        question, speaker, since, until = _text(question).strip(), _text(speaker), _text(since), _text(until)
        nothing = [[], gr.update(choices=[], value=None), "", "", gr.update(visible=False), ""]
        if not question:
            return [history, history, ctx, *nothing, "", *filter_bar(None, since, until)]
        filt_speaker = None if speaker in ("", ANY_SPEAKER) else speaker
        try:
            with core.using() as searcher:  # how the question reads: the names it gives (misspelt or not)
                q = searcher.read(question)
            reading = read_question(question, q.named_speakers, filt_speaker, since, until, ctx)
            ctx, filt_speaker, since, until = reading.context, reading.speaker, reading.since, reading.until
            notes = reading_notes(q) + list(reading.notes)
            # one search serves both: the first 5 answers of 30 are exactly a top-5 search's answers
            spread = core.ask(question, top_k=30, speaker=filt_speaker, since=_date(since), until=_date(until))
            shown = spread.answers[:5]
            result = replace(spread, answers=shown, no_answer=not shown or shown[0].weak)
        except OnrecordError as exc:
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"}]
            return [history, history, ctx, *nothing, "", *filter_bar(filt_speaker, since, until)]
        active = active_filters(filt_speaker, since, until)
        if active:
            notes.append(active)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": render(result, " · ".join(notes))}]
        answers = list(result.answers)
        choices = [f"{n}. {a.speaker}, {long_date(a.transcript.date)}: “{first_words(a.text)}”"
                   for n, a in enumerate(answers, 1)]  # the first words tell answers of one day apart
        first = choices[0] if choices else None
        cite = citation(answers[0]) if answers and not answers[0].weak else ""  # never a weak match unasked
        ctx_html = context_html(core, answers[0]) if answers else ""
        chart = gr.update(value=timeline(spread), visible=strong_answers(result))
        snippet = embed_snippet(answers[0], site_of(request)) if answers and not answers[0].weak else ""
        return [history, history, ctx, answers, gr.update(choices=choices, value=first), cite, ctx_html, chart, snippet,
                "", *filter_bar(filt_speaker if speaker not in ("", ANY_SPEAKER) else None, since, until)]

    def clear_filters():
        return gr.update(value=ANY_SPEAKER), "", "", *filter_bar(None, "", "")

    def select(choice, answers, short, request: gr.Request):
        choice = _text(choice)
        head = choice.split(".", 1)[0]
        if not head.isdigit() or not 1 <= int(head) <= len(answers or []):
            return "", "", ""
        a = answers[int(head) - 1]
        # chosen by the reader: a weak match may be cited
        return citation(a, short is True), context_html(core, a), embed_snippet(a, site_of(request))

    def upload(files, key):
        key = _text(key)
        if needs_key and not hmac.compare_digest(key.encode(), core.settings.api_key.encode()):
            return "Upload refused: enter the API key (ONRECORD_API_KEY)."
        paths = [f if isinstance(f, str) else getattr(f, "name", None) for f in (files or [])]
        if not paths:
            return "Choose one or more transcript files first."
        limit = core.settings.max_upload_mb * 1024 * 1024
        items, uploads = [], []
        for given in paths:
            path = in_upload_folder(given) if isinstance(given, str) else None
            if path is None:
                return "Upload refused: only files uploaded through this page can be added."
            uploads.append(path)
        try:
            for path in uploads:
                with open(path, "rb") as fh:  # bounded reads; the core judges the size
                    items.append((path.name, fh.read(int(limit) + 1)))
        finally:
            for path in uploads:
                _discard_upload(path)
        try:
            core.check_uploads(items)
            report = core.jobs.submit(items).future.result()  # the one writer thread, like API uploads
        except OnrecordError as exc:  # another writer, a full disk: said, not a crash
            return f"Upload failed: {exc}"
        return upload_report(report)

    def remove(tid, key):
        tid, key = _text(tid).strip(), _text(key)
        if needs_key and not hmac.compare_digest(key.encode(), core.settings.api_key.encode()):
            return "Removal refused: enter the API key (ONRECORD_API_KEY)."
        if not tid:
            return "Enter the id of the transcript to remove (shown under “In the transcript”)."
        try:
            with core.using() as searcher:
                info = searcher.store.transcript_info(tid)
            core.jobs.call(lambda: core.remove([tid])).result()
        except OnrecordError as exc:
            return f"Not removed: {exc}"
        return f"Removed “{info.title}” ({long_date(info.date)}, {info.file})."

    def check_quote(quote: str, attributed: str) -> str:
        try:
            return verdict_card(core.verify(_text(quote), speaker=_text(attributed).strip() or None))
        except OnrecordError as exc:
            return f'<div class="onrecord-meta">{html.escape(str(exc))}</div>'

    with gr.Blocks(title="onrecord", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("## onrecord\nWhat a spokesperson actually said, word for word: verbatim answers with who, when and the source.")
        answers_state = gr.State([])
        ctx_state = gr.State({})
        history_state = gr.State([])  # the conversation lives on the server: the browser only shows it
        examples_state = gr.State([])
        with gr.Tab("Ask", id="ask"):
            with gr.Row(elem_id="onrecord-filter-bar"):
                active_md = gr.Markdown("", elem_id="onrecord-active-filters")
                clear_btn = gr.Button("Clear filters", size="sm", visible=False, elem_id="onrecord-clear", scale=0)
            with gr.Row():
                with gr.Column(scale=3):
                    # no copy buttons on the chat (they copied the cards' HTML): the citation box copies
                    # plain text, and a selection in the page copies as text
                    chat = gr.Chatbot(label="Answers on the record", height=560, elem_id="onrecord-chat", autoscroll=False,
                                      buttons=[], feedback_options=None)


                    with gr.Row(elem_id="onrecord-ask-row"):
                        question = gr.Textbox(placeholder="What did NATO say about Article 5?", show_label=False,
                                              scale=5, elem_id="onrecord-question", max_length=2000)
                        ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="onrecord-ask")
                    examples = gr.Dataset(components=[question], samples=[], type="index", elem_id="onrecord-examples",
                                          label="Questions asked in these transcripts")
                with gr.Column(scale=2):
                    with gr.Accordion("Filters", open=False):
                        speaker = gr.Dropdown([ANY_SPEAKER], value=ANY_SPEAKER, label="Speaker", elem_id="onrecord-speaker")
                        since = gr.Textbox(label="Since (YYYY-MM-DD)", max_length=10)
                        until = gr.Textbox(label="Until (YYYY-MM-DD)", max_length=10)
                    pick = gr.Radio([], label="Answer", elem_id="onrecord-pick")
                    cite = gr.Textbox(label="Citation (ready to paste, plain text)", buttons=["copy"], lines=3,
                                      interactive=False, elem_id="onrecord-citation")
                    short = gr.Checkbox(label="Cite only the highlighted sentences", value=False, elem_id="onrecord-short")
                    context = gr.HTML(label="In the transcript", show_label=True, elem_id="onrecord-context")
                    embed_code = gr.Textbox(label="Embed this answer (HTML to paste in a page)", buttons=["copy"], lines=2,
                                            interactive=False, elem_id="onrecord-embed")
                    plot = gr.BarPlot(per_year({}), x="year", y="answers", visible=False, elem_id="onrecord-chart",
                                      title="Answers on the record per year (strong matches only)", height=220,
                                      y_lim=[0, None])
                    with gr.Accordion("Add transcripts", open=False):
                        files = gr.File(file_count="multiple", label="Transcript files (" + " ".join(sorted(SUFFIXES)) + ")",
                                        file_types=sorted(SUFFIXES))
                        key = gr.Textbox(label="API key", type="password", visible=needs_key)
                        upload_btn = gr.Button("Add to the index")
                        upload_out = gr.Textbox(label="Result", interactive=False, lines=4, elem_id="onrecord-upload-result")
                        remove_id = gr.Textbox(label="Remove a transcript: its id", max_length=64, elem_id="onrecord-remove-id")
                        remove_btn = gr.Button("Remove from the index", variant="stop", size="sm")
        with gr.Tab("Check a quote", id="verify"):
            gr.Markdown("Is a quote on the record word for word, nearly, or not at all? `...` marks an omission.")
            with gr.Row():
                quote_in = gr.Textbox(label="Quote", lines=3, max_length=2000, scale=4, elem_id="onrecord-quote")
                quote_speaker = gr.Textbox(label="Attributed to (optional)", max_length=200, scale=1,
                                           elem_id="onrecord-quote-speaker")
            verify_btn = gr.Button("Check", variant="primary", elem_id="onrecord-verify")
            verdict_html = gr.HTML(elem_id="onrecord-verdict")
        gr.Markdown("[API documentation](/docs) · every answer is a verbatim run of its transcript",
                    elem_id="onrecord-footer")

        # every input is a string from the browser or server-side state; the chat is only an output
        outputs = [chat, history_state, ctx_state, answers_state, pick, cite, context, plot, embed_code, question,
                   active_md, clear_btn]
        inputs = [question, history_state, speaker, since, until, ctx_state]
        question.submit(ask, inputs, outputs).then(None, None, None, js=SCROLL_TO_NEWEST_JS)
        ask_btn.click(ask, inputs, outputs).then(None, None, None, js=SCROLL_TO_NEWEST_JS)
        pick.change(select, [pick, answers_state, short], [cite, context, embed_code])
        short.change(select, [pick, answers_state, short], [cite, context, embed_code])
        clear_btn.click(clear_filters, None, [speaker, since, until, active_md, clear_btn])
        upload_btn.click(upload, [files, key], [upload_out])
        remove_btn.click(remove, [remove_id, key], [upload_out])
        key.change(None, [key], None, js=KEY_COOKIE_JS)
        examples.click(use_example, [examples, examples_state], [question])
        verify_btn.click(check_quote, [quote_in, quote_speaker], [verdict_html])
        quote_in.submit(check_quote, [quote_in, quote_speaker], [verdict_html])
        demo.load(on_load, None, [speaker, examples, examples_state])
    return demo


def _date(value: str | None) -> str | None:

    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise OnrecordError(f"'{value}' is not a date: use YYYY-MM-DD") from None
