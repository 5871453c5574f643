"""`python app.py`: build the default index from the bundled samples if absent, then serve UI + API."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from onrecord.api import serve  # noqa: E402
from onrecord.config import get_settings  # noqa: E402
from onrecord.service import Onrecord  # noqa: E402

if __name__ == "__main__":
    serve(Onrecord(get_settings()))
