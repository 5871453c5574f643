"""A real HTTP server (uvicorn on a loopback port) around an Onrecord, in a thread of the test
process: the attacks in test_security.py go over a socket, as an attacker's would."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn

from onrecord.api import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(core, ui: bool = True):
    """Serve `core` (API, and the UI unless ui=False) on a free port; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(core.settings, core, ui=ui), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def call_ui(base: str, api_name: str, data: list, timeout: float = 60, **kw) -> tuple[str, object]:
    """Call a Gradio event the way a script would (POST /gradio_api/call/NAME, then read its event
    stream); returns the last event's kind ('complete' or 'error') and its data."""
    with httpx.Client(base_url=base, timeout=timeout, **kw) as client:
        r = client.post(f"/gradio_api/call/{api_name}", json={"data": data})
        r.raise_for_status()
        event_id = r.json()["event_id"]
        kind, payload = None, None
        with client.stream("GET", f"/gradio_api/call/{api_name}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    text = line.split(":", 1)[1].strip()
                    try:
                        payload = json.loads(text)
                    except ValueError:
                        payload = text
                    if kind in ("complete", "error"):
                        break
        return kind, payload
