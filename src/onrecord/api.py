"""The HTTP API (FastAPI) with the chat UI mounted at `/`: `create_app(settings)`."""


import asyncio
import datetime as dt
import hmac
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, FastAPI, File, Header, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from . import __version__
from .config import Settings, get_settings
from .errors import BadQuery, IndexError_, IndexLocked, IndexNotFound, NotFound, OnrecordError
from .service import Onrecord, job_to_json, report_to_json, result_to_json
from .store import CORRUPTION_ERRORS, index_backend

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the UI makes no outbound calls
log = logging.getLogger("onrecord")
MAX_QUESTION = 2000
# An upload up to this size is answered when its ingest is done (200 with the report); a larger
# one at once with 202 and its job, to follow at GET /api/jobs/{id}. Either way the ingest runs on
# the writer thread, and the server goes on answering questions.
WAIT_FOR_UPLOAD_BYTES = 512 * 1024
UPLOAD_COOKIE = "onrecord_key"  # the UI's file uploads carry the API key in this cookie


# --- request and response models (the public contract, DESIGN.md section 4) ---------------------


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION, description="What the journalist asks.")
    top_k: int = Field(5, ge=1, le=50)
    speaker: str | None = Field(None, max_length=200, description="Only answers by this speaker (part of the name).")
    since: dt.date | None = Field(None, description="YYYY-MM-DD: only transcripts on or after this date.")
    until: dt.date | None = Field(None, description="YYYY-MM-DD: only transcripts on or before this date.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the question is empty")
        return v


class TranscriptRef(BaseModel):
    id: str
    title: str
    date: str | None
    source_url: str | None
    file: str
    organisation: str | None = None


class AnswerOut(BaseModel):
    text: str = Field(description="Verbatim span of the transcript.")
    asked: str | None = Field(description="The question put to the speaker, verbatim; null for a statement.")
    asked_by: str | None
    speaker: str
    score: float
    highlights: list[list[int]] = Field(description="[start, end) offsets within text of the best-matching sentences.")
    span: list[int] = Field(description="[start, end) within the transcript's canonical text.")
    transcript: TranscriptRef
    topic: str | None = None
    weak: bool = False
    time: list[float] | None = Field(None, description="[start, end] in seconds, for an answer from a timed source (captions).")
    link: str | None = Field(None, description="The source at that moment (YouTube t=, a media file #t=); null otherwise.")


class AskResponse(BaseModel):

    question: str
    answers: list[AnswerOut]
    no_answer: bool


class Health(BaseModel):
    status: str
    transcripts: int
    passages: int
    model: str
    backend: str = Field(description="Embedding backend the index's vectors came from: onnx, onnx-int8 or torch.")
    version: str = __version__


class SpeakerOut(BaseModel):
    name: str = Field(description="The canonical full name.")
    aliases: list[str] = Field(description="The labels this speaker stood under in the transcripts (\"MR. KIRBY\").")
    role: str
    transcripts: int
    answers: int = Field(description="Answer passages by this speaker.")


class TurnOut(BaseModel):

    speaker: str
    role: str
    affiliation: str | None
    span: list[int]
    text: str


class TranscriptOut(TranscriptRef):
    speakers: list[str]
    text: str
    turns: list[TurnOut]


class IngestOut(BaseModel):
    added: list[dict]
    duplicates: list[str]
    failed: list[dict]
    notes: list[dict] = []
    passages: int


class JobOut(BaseModel):
    id: str
    status: str = Field(description="queued, running, done or failed")
    files: list[str]
    done: int = Field(description="passages embedded so far")
    total: int = Field(description="passages to embed (0 until the files are parsed)")
    report: IngestOut | None = None
    error: str | None = None
    url: str


# --- the app -------------------------------------------------------------------------------------


class BodyLimit:
    """Refuse request bodies over a limit early: by Content-Length before reading, and by counting
    when the body streams without one. Uploads may be larger than other requests."""

    def __init__(self, app, upload_bytes: int, other_bytes: int = 64 * 1024):
        self.app, self.upload_bytes, self.other_bytes = app, upload_bytes, other_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.upload_bytes if scope["path"].rstrip("/") == "/api/transcripts" else self.other_bytes
        if not scope["path"].startswith("/api/"):
            limit = self.upload_bytes  # the UI's own endpoints (uploads through the UI)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _too_large(send, limit)
        if length is not None:
            return await self.app(scope, receive, send)
        # no Content-Length (a chunked body): read it up to the limit, then replay it
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, receive, send)
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            more = message.get("more_body", False)
            if seen > limit:
                return await _too_large(send, limit)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit / 1024 / 1024:.2f} MB"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, onrecord: Onrecord | None = None, ui: bool = True) -> FastAPI:
    """The FastAPI app serving the API under /api and the Gradio UI at /."""
    settings = settings or get_settings()
    core = onrecord or Onrecord(settings)
    app = FastAPI(title="onrecord", version=__version__, description="What a spokesperson actually said, word for word.")
    app.state.onrecord = core
    upload_bytes = int(settings.max_upload_mb * 1024 * 1024 * 1.05) + 64 * 1024  # a file plus multipart framing
    app.add_middleware(BodyLimit, upload_bytes=upload_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"])

    def get_core() -> Onrecord:
        return core

    Core = Annotated[Onrecord, Depends(get_core)]

    def require_key(authorization: Annotated[str | None, Header()] = None) -> None:
        if settings.api_key and not _key_matches(authorization, settings.api_key):
            raise HTTPException(401, "this endpoint needs 'Authorization: Bearer KEY' with the server's ONRECORD_API_KEY",
                                headers={"WWW-Authenticate": "Bearer"})

    def require_read(authorization: Annotated[str | None, Header()] = None) -> None:
        if settings.read_key and not (
            _key_matches(authorization, settings.read_key)
            or (settings.api_key and _key_matches(authorization, settings.api_key))
        ):
            raise HTTPException(401, "reading needs 'Authorization: Bearer KEY' with ONRECORD_READ_KEY (or the API key)",
                                headers={"WWW-Authenticate": "Bearer"})

    Read = [Depends(require_read)]

    @app.exception_handler(OnrecordError)
    async def _onrecord_error(request: Request, exc: OnrecordError):
        status = 400
        if isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, IndexLocked):
            status = 409
        elif isinstance(exc, (IndexNotFound, IndexError_)):
            status = 503
        elif isinstance(exc, BadQuery):
            status = 422
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(CORRUPTION_ERRORS)
    async def _corrupt_index(request: Request, exc: Exception):
        log.error("index damaged: %s", exc)
        return JSONResponse({"detail": f"the index at {settings.index} is damaged ({exc}): rebuild it with "
                                       "'onrecord ingest'"}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse({"detail": "; ".join(problems) or "invalid request"}, status_code=422)

    @app.get("/api/health", response_model=Health)
    def health(core: Core) -> Health:
        with core.using() as searcher:
            reader = searcher.reader
            n_t, n_p = reader.counts()
            return Health(status="ok", transcripts=n_t, passages=n_p, model=reader.model,
                          backend=index_backend(reader.manifest))

    @app.post("/api/ask", response_model=AskResponse, dependencies=Read)
    def ask(body: AskRequest, core: Core) -> dict:
        _check_dates(body.since, body.until)
        result = core.ask(body.question, body.top_k, body.speaker, _iso(body.since), _iso(body.until))
        return result_to_json(result)

    @app.get("/api/ask", response_model=AskResponse, dependencies=Read)
    def ask_get(
        core: Core,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION, description="The question.")],
        top_k: Annotated[int, Query(ge=1, le=50)] = 5,
        speaker: Annotated[str | None, Query(max_length=200)] = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> dict:
        if not q.strip():
            raise BadQuery("the question is empty")
        _check_dates(since, until)
        return result_to_json(core.ask(q, top_k, speaker, _iso(since), _iso(until)))

    @app.get("/api/speakers", response_model=list[SpeakerOut], dependencies=Read)
    def list_speakers(core: Core) -> list[dict]:
        """The index's spokespeople, one name per person, with the labels they stood under."""
        with core.using() as searcher:
            return [{"name": s.name, "aliases": list(s.aliases), "role": s.role, "transcripts": s.transcripts,
                     "answers": s.answers} for s in searcher.reader.speaker_registry()]

    @app.get("/api/transcripts", response_model=list[TranscriptRef], dependencies=Read)
    def list_transcripts(core: Core) -> list[dict]:
        with core.using() as searcher:
            return [vars(i) for i in searcher.reader.transcripts()]

    @app.get("/api/transcripts/{tid}", response_model=TranscriptOut, dependencies=Read)
    def get_transcript(tid: str, core: Core) -> dict:
        with core.using() as searcher:
            t = searcher.reader.transcript(tid)
        return {
            "id": t.id, "title": t.title, "date": t.date, "source_url": t.source_url, "file": t.file,
            "organisation": t.organisation, "speakers": list(t.speakers), "text": t.text,
            "turns": [{"speaker": x.speaker, "role": x.role, "affiliation": x.affiliation, "span": list(x.span),
                       "text": t.turn_text(x)} for x in t.turns],
        }

    @app.post("/api/transcripts", response_model=IngestOut, dependencies=[Depends(require_key)],
              responses={202: {"model": JobOut, "description": "A large upload: its ingest job, to follow."}})
    async def upload(
        core: Core,
        files: Annotated[list[UploadFile], File(description="Transcript files.")],
        background: Annotated[bool, Query(description="Answer at once with the job (202), whatever the size.")] = False,
    ):
        limit = int(settings.max_upload_mb * 1024 * 1024)
        items = []
        for f in files:
            data = await f.read(limit + 1)
            if len(data) > limit:
                raise HTTPException(413, f"{_safe_name(f.filename)} is larger than {settings.max_upload_mb:g} MB")
            items.append((_safe_name(f.filename), data))
        job = core.jobs.submit(items)  # the writer thread: the event loop stays free
        if background or sum(len(d) for _, d in items) > WAIT_FOR_UPLOAD_BYTES:
            return JSONResponse(job_to_json(job), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})
        return report_to_json(await asyncio.wrap_future(job.future))

    @app.get("/api/jobs/{job_id}", response_model=JobOut, dependencies=[Depends(require_key)])
    def get_job(job_id: str, core: Core) -> dict:
        return job_to_json(core.jobs.get(job_id))

    @app.delete("/api/transcripts/{tid}", dependencies=[Depends(require_key)])
    def delete_transcript(tid: str, core: Core) -> dict:
        with core.using() as searcher:
            searcher.reader.transcript_info(tid)  # 404 for an unknown id
        core.jobs.call(lambda: core.remove([tid])).result()  # on the writer thread, after queued writes
        return {"deleted": tid}

    if ui:
        import gradio as gr

        from .ui import CSS, build_ui

        auth = None
        if settings.read_key:  # the UI is a reader too: any user name, the read key (or API key) as password
            keys = [k for k in (settings.read_key, settings.api_key) if k]
            auth = lambda _user, password: any(hmac.compare_digest(password.encode(), k.encode()) for k in keys)  # noqa: E731
        demo = build_ui(core)
        app = gr.mount_gradio_app(
            app, demo, path="/", css=CSS, footer_links=[], auth=auth,
            allowed_paths=[], blocked_paths=_blocked_paths(settings), max_file_size=int(settings.max_upload_mb * 1024 * 1024),
        )
        # Gradio checks that files named in event data lie in its upload folder only once an app
        # has "launched"; a mounted app never does, so say it has (the check is all this flag gates)
        demo.has_launched = True
        if settings.api_key:
            app.add_middleware(UploadKey, key=settings.api_key)
    return app


class UploadKey:
    """With an API key set, the UI's file uploads (`/gradio_api/upload`) need it too: the UI puts the
    key the reader typed in a cookie, a script or a stranger has none."""

    def __init__(self, app, key: str):
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith("/gradio_api/upload"):
            headers = dict(scope.get("headers") or [])
            cookies = {}
            for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
                name, _, value = part.strip().partition("=")
                cookies[name] = unquote(value)
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not (_key_matches(given, self.key) or _key_matches(cookies.get(UPLOAD_COOKIE), self.key)):
                body = json.dumps({"detail": "uploading needs the API key (ONRECORD_API_KEY)"}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _blocked_paths(settings: Settings) -> list[str]:
    """Folders the UI must never serve a file from, whatever an event asks: the index, the working
    folder, the system's and users' files (all but Gradio's own upload folder)."""
    import gradio.utils

    upload = Path(gradio.utils.get_upload_folder()).resolve()
    candidates = [Path(settings.index).resolve(), Path.cwd().resolve(), Path.home().resolve(),
                  *(Path(p) for p in ("/etc", "/proc", "/sys", "/root", "/home", "/var", "/usr", "/opt", "/srv"))]
    return [str(p) for p in candidates if not upload.is_relative_to(p)]


def _key_matches(authorization: str | None, key: str) -> bool:
    """Constant-time comparison of a 'Bearer KEY' header with the key; the key is never logged."""
    given = (authorization or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), key.encode())


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _check_dates(since: dt.date | None, until: dt.date | None) -> None:
    if since and until and since > until:
        raise BadQuery(f"since ({since}) is after until ({until})")


def _safe_name(name: str | None) -> str:
    """Only the base name of an uploaded file: no folders, so it cannot point outside the upload."""
    base = os.path.basename((name or "upload.txt").replace("\\", "/")).strip() or "upload.txt"
    return base[:200]


def serve(core: Onrecord) -> None:
    """Build the default index if absent, then serve API + UI with uvicorn."""
    import uvicorn

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    settings = core.settings
    report = core.ensure_index(progress=True)
    if report is not None:
        print(f"built {settings.index} from the sample transcripts: {report.summary()}", file=sys.stderr)
    core.reader()
    core.searcher().search("warm up", top_k=1)  # load the model before the first user waits for it
    app = create_app(settings, core)
    print(f"onrecord serving on http://{settings.host}:{settings.port}/ (API docs: /docs)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def create_api_app() -> FastAPI:
    """The API alone (no UI), from the environment's settings: for several worker processes,
    `uvicorn --factory onrecord.api:create_api_app --workers N` (the UI needs a single process)."""
    return create_app(ui=False)
