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
    report = core.ensure_index(progress=True)
    if report is not None:
        print(f"built {settings.index} from the sample transcripts: {report.summary()}", file=sys.stderr)
    core.searcher().search("warm up", top_k=1)  # load the model before the first user waits for it
    app = create_app(settings, core)
    print(f"onrecord serving on http://{settings.host}:{settings.port}/ (API docs: /docs)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def main() -> None:
    """`python app.py`: the settings from the environment, then `serve`."""
    prepare_environment()
    from .config import get_settings
    from .service import Onrecord

    serve(Onrecord(get_settings()))


def api_app():
    """The API alone (no UI), from the environment's settings: for several worker processes,
    `uvicorn --factory onrecord.server:api_app --workers N` (the UI needs a single process)."""
    prepare_environment()
    from .api import create_app

    return create_app(ui=False)
