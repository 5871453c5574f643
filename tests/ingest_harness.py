"""A real `onrecord ingest` in its own process, with the fake embedder, for fault injection.

    python tests/ingest_harness.py INDEX PATH... [--delay S] [--max-file-bytes N] [--kill-before-publish]

--delay sleeps S seconds per batch of 32 passages (so a test can kill the process mid-ingest);
--max-file-bytes limits the size of any file the process writes (RLIMIT_FSIZE), as a full disk;
--kill-before-publish sends the process SIGKILL at the worst moment for the shared database: its
rows committed, the generation not yet published.
"""

import argparse
import os
import resource
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import FakeEmbedder  # noqa: E402
from onrecord.cli import main  # noqa: E402
from onrecord.config import Settings  # noqa: E402
from onrecord.service import Onrecord  # noqa: E402


class SlowFake(FakeEmbedder):
    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    def embed(self, texts, progress=None):
        out = []
        for i in range(0, len(texts), 32):
            time.sleep(self.delay)
            out.append(super().embed(texts[i : i + 32]))
            print(f"embedded {min(i + 32, len(texts))}/{len(texts)}", flush=True)
        import numpy as np

        return np.concatenate(out) if out else super().embed([])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("index")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--max-file-bytes", type=int)
    ap.add_argument("--kill-before-publish", action="store_true")
    args = ap.parse_args()
    if args.kill_before_publish:
        import onrecord.store.local as local

        def killed(*_args, **_kwargs):
            print("committed, killing before publishing", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        local.publish = killed
    if args.max_file_bytes:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG errors instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.max_file_bytes, args.max_file_bytes))
    core = Onrecord(Settings(index=Path(args.index)), embedder=SlowFake(args.delay))
    sys.exit(main(["ingest", *args.paths, "--index", args.index, "--json"], onrecord=core))
