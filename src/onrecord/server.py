"""Start-up, in one place: the process's environment (offline, no analytics), the first-run index
from the bundled samples, the model's warm-up, and uvicorn. `python app.py`, `onrecord serve` and
`uvicorn --factory onrecord.server:api_app` start here."""

from __future__ import annotations

import os
import sys


def prepare_environment() -> None:
    """Nothing this process does may call out: no Gradio analytics, no model hub (set before the
    libraries that read these are imported)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def serve(core) -> None:
    """Build the default index if absent, warm the model, then serve API + UI with uvicorn."""
    prepare_environment()
    import uvicorn

    from .api import create_app

    settings = core.settings
    if settings.workers > 1 and core.store_kind == "milvus-lite":
        from .errors import OnrecordError

        raise OnrecordError("Milvus Lite serves one process: use --workers 1, a local index folder, or a Milvus server")
    report = core.ensure_index(progress=True)
    if report is not None:
        print(f"built {settings.index} from the sample transcripts: {report.summary()}", file=sys.stderr)
    if settings.workers > 1:
        serve_workers(settings)
        return
    core.searcher().search("warm up", top_k=1)  # load the model before the first user waits for it
    app = create_app(settings, core)
    print(f"onrecord serving on http://{settings.host}:{settings.port}/ (API docs: /docs)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def serve_workers(settings) -> None:
    """The API in N processes sharing one listening socket (uvicorn's workers), each with its own
    model and its own reader of the index: a local index is read-only per generation, so readers
    need no coordination, and each follows new generations as they are published. The UI keeps its
    sessions in one process, so it is not served here."""
    import uvicorn

    os.environ.update(ONRECORD_INDEX=str(settings.index), ONRECORD_HOST=settings.host, ONRECORD_PORT=str(settings.port))
    print(f"onrecord serving the API on http://{settings.host}:{settings.port}/api with {settings.workers} worker "
          "processes (the UI needs one process: `onrecord serve --workers 1`)", file=sys.stderr, flush=True)
    uvicorn.run("onrecord.server:api_app", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, log_level="warning")


def main() -> None:
    """`python app.py`: the settings from the environment, then `serve`."""
    prepare_environment()
    from .config import get_settings
    from .service import Onrecord

    serve(Onrecord(get_settings()))


def api_app():
    """The API alone (no UI), from the environment's settings: for several worker processes
    (`onrecord serve --workers N`, or `uvicorn --factory onrecord.server:api_app --workers N`).
    Each process loads the model before it takes requests."""
    prepare_environment()
    from .api import create_app
    from .config import get_settings
    from .errors import OnrecordError
    from .service import Onrecord

    core = Onrecord(get_settings())
    try:
        core.searcher().search("warm up", top_k=1)
    except OnrecordError as exc:  # no index yet, say: each request will say so
        print(f"onrecord: {exc}", file=sys.stderr)
    return create_app(core.settings, core, ui=False)
