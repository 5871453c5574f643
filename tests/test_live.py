"""The real thing: `python app.py` as a process (real model, first-run index from the bundled
samples), HTTP over a socket, and headless Chromium driving the chat UI."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "screenshot.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.slow
LIVE: dict = {}  # what the server fixture made (its index), for the tests that start another server on it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on a free port with no index yet: it builds one from the bundled samples."""
    port = _free_port()
    index = tmp_path_factory.mktemp("live") / "index"
    LIVE["index"] = index
    env = {**os.environ, "ONRECORD_INDEX": str(index), "ONRECORD_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    log = open(index.parent / "server.log", "w")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while time.monotonic() - started < 300:
            if proc.poll() is not None:
                raise RuntimeError("server exited: " + (index.parent / "server.log").read_text()[-2000:])
            try:
                if _get(base + "/api/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("server did not answer within 300 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_first_run_builds_the_default_index_and_answers_over_http(server):
    status, health = _get(server + "/api/health")
    assert status == 200 and health["transcripts"] >= 6 and health["model"] == "all-MiniLM-L6-v2"
    status, body = _get(server + "/api/ask", {"question": "What did NATO say about Article 5?"})
    assert status == 200
    top = body["answers"][0]
    assert top["speaker"] == "Jens Stoltenberg" and top["asked_by"] == "TV 2"
    assert top["text"].startswith("I think the important thing now is to really try to de-escalate")
    assert top["asked"].startswith("Should Iran retaliate in a way that makes the United States trigger Article 5?")
    assert top["transcript"]["date"] == "2020-01-06" and not body["no_answer"]
    status, err = _get(server + "/api/ask", {"question": ""})
    assert status == 422 and "question" in err["detail"]


def test_serve_with_workers_answers_from_several_processes_over_one_index(server):
    """`onrecord serve --workers 2`: the API in two processes over the index the first server
    built (read-only per generation, so two readers need nothing between them)."""
    port = _free_port()
    env = {**os.environ, "ONRECORD_INDEX": str(LIVE["index"]), "ONRECORD_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    log = open(LIVE["index"].parent / "workers.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "onrecord", "serve", "--workers", "2"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, (LIVE["index"].parent / "workers.log").read_text()[-2000:]
            try:
                if _get(base + "/api/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(children) >= 2, "uvicorn's two worker processes"
        for _ in range(6):
            status, body = _get(base + "/api/ask", {"question": "What did NATO say about Article 5?", "top_k": 1})
            assert status == 200 and body["answers"][0]["speaker"] == "Jens Stoltenberg"
        assert _get(base + "/api/health")[1]["store"] == "local"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def test_short_load_run_has_no_errors(server):
    """A CI-sized run of benchmarks/load.py (the documented run is 16 clients for 60 s)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import load

    result = load.run(server, clients=4, seconds=5, questions=load.QUESTIONS, unique=True)
    assert result["errors"] == 0 and result["requests"] >= 10, result


def test_browser_asks_and_sees_the_quote(server):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "headless Chromium is needed: apt-get install chromium (see .ci/run)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            outside = []
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:", "blob:")) else None)
            page.goto(server + "/")
            page.fill("#onrecord-question textarea", "What did NATO say about Article 5?")
            page.click("#onrecord-ask")
            page.wait_for_selector(".onrecord-card", timeout=60_000)
            chat = page.inner_text("#onrecord-chat")
            assert "Jens Stoltenberg" in chat and "6 January 2020" in chat
            assert "I think the important thing now is to really try to de-escalate" in chat
            assert "Asked (TV 2)" in chat
            page.wait_for_function(
                "document.querySelector('#onrecord-citation textarea')?.value.includes('Jens Stoltenberg')", timeout=30_000
            )
            assert "6 January 2020" in page.input_value("#onrecord-citation textarea")
            page.wait_for_timeout(1000)  # let the timeline chart draw
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert not outside, f"the page called out to {outside[:3]}"

            # a follow-up keeps the speaker the previous question named
            cards = page.locator(".onrecord-card").count()
            page.fill("#onrecord-question textarea", "What did Kirby say about the hostages?")
            page.click("#onrecord-ask")
            page.wait_for_function(f"document.querySelectorAll('.onrecord-card').length > {cards}", timeout=60_000)
            page.fill("#onrecord-question textarea", "and what about Iran?")
            page.click("#onrecord-ask")
            page.wait_for_function("document.querySelector('#onrecord-chat').innerText.includes('still John Kirby')",
                                   timeout=60_000)
            follow_up = page.inner_text("#onrecord-chat").rsplit("and what about Iran?", 1)[1]
            speakers = re.findall(r"^\d\. (.+?) · ", follow_up, re.M)
            assert speakers and set(speakers) == {"John Kirby"}
        finally:
            browser.close()


PHONE_SCREENSHOT = ROOT / "docs" / "screenshot-phone.png"
EMBED_SCREENSHOT = ROOT / "docs" / "embed.png"


def test_browser_details_a_reporter_meets(server):
    """Issue 15's reporter items in a real browser: the chat scrolls to the newest answer, answer
    choices tell answers apart, the context box is labelled and scrolls on its own, the chart is
    hidden when nothing on the record answers, the footer points at /docs, and at 400 px the
    question box and the button stack."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server + "/")
            for n, q in enumerate(["What did NATO say about Article 5?", "What did Kirby say about the hostages?",
                                   "What did Granholm say about gas supplies after the Colonial Pipeline hack?"], 1):
                page.fill("#onrecord-question textarea", q)
                page.click("#onrecord-ask")
                page.wait_for_function(f"document.querySelectorAll('.onrecord-card').length >= {5 * n}", timeout=60_000)
                page.wait_for_timeout(800)
            view = page.evaluate("""() => {
                const cards = [...document.querySelectorAll('.onrecord-card')];
                const box = document.querySelector('#onrecord-chat').getBoundingClientRect();
                const seen = c => { const r = c.getBoundingClientRect(); return r.top < box.bottom && r.bottom > box.top; };
                return cards.map(seen); }""")
            assert view[10] and not any(view[:5]), view  # the newest answers start in view, the first scrolled away
            labels = page.locator("#onrecord-pick label").all_inner_texts()
            assert len(labels) == 5 and len(set(labels)) == 5 and all("“" in t for t in labels), labels
            context = page.locator("#onrecord-context")
            assert "In the transcript" in context.inner_text()
            style = page.evaluate("() => { const s = getComputedStyle(document.querySelector('#onrecord-context'));"
                                  " return [s.maxHeight, s.overflowY]; }")
            assert style[0] == "420px" and style[1] == "auto", style
            assert page.locator("#onrecord-chart").is_visible()
            # copying: no copy buttons that copied the cards' HTML; the citation is plain text, and
            # can be cut to the highlighted sentences (still one verbatim run)
            assert page.locator("#onrecord-chat button[aria-label*='opy'], #onrecord-chat button[title*='opy']").count() == 0
            whole = page.input_value("#onrecord-citation textarea")
            assert whole and "<" not in whole
            page.click("#onrecord-short input")
            page.wait_for_function(f"document.querySelector('#onrecord-citation textarea').value.length < {len(whole)}",
                                   timeout=30_000)
            short = page.input_value("#onrecord-citation textarea")
            quote = short.split("“", 1)[1].rsplit("”", 1)[0]
            assert quote and quote in whole
            page.fill("#onrecord-question textarea", "What is the recipe for sourdough bread with rye flour?")
            page.click("#onrecord-ask")
            page.wait_for_function("document.querySelector('#onrecord-chat').innerText.includes('Nothing on the record')",
                                   timeout=60_000)
            page.wait_for_timeout(800)
            assert not page.locator("#onrecord-chart").is_visible()
            assert page.locator("#onrecord-footer a[href='/docs']").count() == 1

            phone = browser.new_page(viewport={"width": 400, "height": 900})
            phone.goto(server + "/")
            phone.wait_for_selector("#onrecord-ask")
            box = phone.locator("#onrecord-question").bounding_box()
            button = phone.locator("#onrecord-ask").bounding_box()
            assert button["y"] >= box["y"] + box["height"] - 1 and button["width"] > 300, (box, button)
            phone.screenshot(path=str(PHONE_SCREENSHOT), full_page=False)
        finally:
            browser.close()


def test_browser_filters_are_visible_clearable_and_said(server):
    """A speaker chosen in the filters is shown above the answers with one click to clear it; when
    the question names someone else, the answer says which was used."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server + "/")
            page.wait_for_selector("#onrecord-ask")
            page.get_by_text("Filters", exact=True).click()
            field = page.locator("#onrecord-speaker input")
            field.click()
            field.fill("John Kirby")
            page.get_by_role("option", name="John Kirby").click()
            page.fill("#onrecord-question textarea", "What did Stoltenberg say about Article 5?")
            page.click("#onrecord-ask")
            page.wait_for_selector(".onrecord-card", timeout=60_000)
            page.wait_for_function("document.querySelector('#onrecord-active-filters').innerText.includes('John Kirby')",
                                   timeout=30_000)
            chat = page.inner_text("#onrecord-chat")
            assert "The question names Jens Stoltenberg; the speaker filter (John Kirby) was used" in chat
            assert "Filters: speaker John Kirby" in chat
            page.click("#onrecord-clear")
            page.wait_for_function("!document.querySelector('#onrecord-active-filters').innerText.includes('Kirby')",
                                   timeout=30_000)
            assert page.input_value("#onrecord-speaker input") == "Any speaker"
        finally:
            browser.close()


def test_browser_checks_a_quote_and_opens_an_answers_permalink(server):
    """Issue 14 in a real browser: a quote checked in its tab; an answer's permalink opened from its
    card; the copied <iframe> snippet shows the answer inside another page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server + "/")
            page.get_by_role("tab", name="Check a quote").click()
            page.fill("#onrecord-quote textarea", "if I start to speculate on how we will react, this will not help to de-escalate")
            page.fill("#onrecord-quote-speaker textarea", "Stoltenberg")
            page.click("#onrecord-verify")
            page.wait_for_function("document.querySelector('#onrecord-verdict').innerText.includes('word for word')",
                                   timeout=60_000)
            verdict = page.inner_text("#onrecord-verdict")
            assert "Jens Stoltenberg" in verdict and "6 January 2020" in verdict

            page.get_by_role("tab", name="Ask").click()
            page.fill("#onrecord-question textarea", "What did NATO say about Article 5?")
            page.click("#onrecord-ask")
            page.wait_for_selector(".onrecord-card a:text('permalink')", timeout=60_000)
            href = page.locator(".onrecord-card a:text('permalink')").first.get_attribute("href")
            assert re.fullmatch(r"/a/[0-9a-f]+-\d+-\d+", href), href
            with page.context.expect_page() as opened:
                page.locator(".onrecord-card a:text('permalink')").first.click()
            permalink = opened.value
            permalink.wait_for_load_state()
            assert permalink.url == server + href
            body = permalink.inner_text("body")
            assert "I think the important thing now is to really try to de-escalate" in body
            assert "Jens Stoltenberg" in body and "6 January 2020" in body and "on the record via onrecord" in body

            page.wait_for_function("document.querySelector('#onrecord-embed textarea')?.value.includes('<iframe')",
                                   timeout=30_000)
            snippet = page.input_value("#onrecord-embed textarea")
            assert f'src="{server}{href}"' in snippet, snippet
            host = browser.new_page(viewport={"width": 640, "height": 420})
            host.set_content(f"<html><body style='font-family:sans-serif'><h3>A newsroom's page</h3>{snippet}</body></html>")
            frame = host.frame_locator("iframe")
            assert "try to de-escalate" in frame.locator("blockquote").inner_text(timeout=30_000)
            host.screenshot(path=str(EMBED_SCREENSHOT))
        finally:
            browser.close()
