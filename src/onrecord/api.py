"""The HTTP API (FastAPI) with the chat UI mounted at `/`: `create_app(settings)`."""


import asyncio
import datetime as dt
import hmac
import html
import json
import logging
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlencode

from fastapi import Depends, FastAPI, File, Header, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from . import __version__
from .config import Settings, get_settings
from .contract import (
    AnswerPage,
    AskRequest,
    AskResponse,
    Health,
    IngestOut,
    JobOut,
    OEmbedOut,
    SpeakerOut,
    TranscriptOut,
    TranscriptRef,
    VerifyRequest,
    VerifyResponse,
)
from .embed import PAGE_HEADERS, answer_id_of_url, oembed, page_html, page_url
from .errors import BadQuery, IndexError_, IndexLocked, ModelError, NotFound, OnrecordError, TooLarge, TranscriptError
from .search import MAX_QUESTION_CHARS
from .server import prepare_environment
from .service import Onrecord
from .store import CORRUPTION_ERRORS, is_remote

log = logging.getLogger("onrecord")
# An upload up to this size is answered when its ingest is done (200 with the report); a larger
# one at once with 202 and its job, to follow at GET /api/jobs/{id}. Either way the ingest runs on
# the writer thread, and the server goes on answering questions.
WAIT_FOR_UPLOAD_BYTES = 512 * 1024
UPLOAD_COOKIE = "onrecord_key"  # the UI's file uploads carry the API key in this cookie


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
    prepare_environment()  # before Gradio is imported: no analytics
    settings = settings or get_settings()
    core = onrecord or Onrecord(settings)
    app = FastAPI(title="onrecord", version=__version__, description="What a spokesperson actually said, word for word.",
                  dependencies=[Depends(known_parameters)], docs_url=None, redoc_url=None)
    serve_docs(app)
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
        return JSONResponse({"detail": str(exc)}, status_code=http_status(exc))

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
            info = searcher.store.info
            return Health(status="ok", transcripts=info.transcripts, passages=info.passages, model=info.model,
                          backend=info.backend, store=info.store)

    @app.post("/api/ask", response_model=AskResponse, dependencies=Read)
    def ask(body: AskRequest, core: Core) -> AskResponse:
        result = core.ask(body.question, body.top_k, body.speaker, _iso(body.since), _iso(body.until), body.transcript)
        return AskResponse.of(result)

    @app.get("/api/ask", response_model=AskResponse, dependencies=Read)
    def ask_get(
        core: Core,
        q: Annotated[str, Query(description=f"The question (at most {MAX_QUESTION_CHARS} characters).")],
        top_k: Annotated[int, Query(description="Number of answers, 1-50.")] = 5,
        speaker: Annotated[str | None, Query(description="Only answers by this speaker.")] = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        transcript: Annotated[str | None, Query(description="Only answers from this transcript (its id).")] = None,
    ) -> dict:
        return AskResponse.of(core.ask(q, top_k, speaker, _iso(since), _iso(until), transcript))

    @app.post("/api/verify", response_model=VerifyResponse, dependencies=Read)
    def verify(body: VerifyRequest, core: Core) -> VerifyResponse:
        """Is a quote on the record: word for word (verbatim), nearly (close, with what differs), or not at all."""
        return VerifyResponse.of(core.verify(body.quote, body.speaker, _iso(body.since), _iso(body.until), body.transcript))

    @app.get("/api/verify", response_model=VerifyResponse, dependencies=Read)
    def verify_get(
        core: Core,
        quote: Annotated[str, Query(description="The quote as published; ... or … marks an omission.")],
        speaker: Annotated[str | None, Query(description="Who it is attributed to.")] = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        transcript: Annotated[str | None, Query(description="Only within this transcript (its id).")] = None,
    ) -> VerifyResponse:
        return VerifyResponse.of(core.verify(quote, speaker, _iso(since), _iso(until), transcript))

    @app.get("/api/speakers", response_model=list[SpeakerOut], dependencies=Read)
    def list_speakers(core: Core) -> list[SpeakerOut]:
        """The index's spokespeople, one name per person, with the labels they stood under."""
        with core.using() as searcher:
            return [SpeakerOut.of(s) for s in searcher.store.speaker_registry()]

    @app.get("/api/transcripts", response_model=list[TranscriptRef], dependencies=Read)
    def list_transcripts(
        core: Core,
        response: Response,
        limit: Annotated[int | None, Query(ge=1, le=1000, description="At most this many (default: all).")] = None,
        offset: Annotated[int, Query(ge=0, description="Skip this many first.")] = 0,
        since: dt.date | None = None,
        until: dt.date | None = None,
        q: Annotated[str | None, Query(max_length=200, description="Only titles containing this (any case).")] = None,
        speaker: Annotated[str | None, Query(max_length=200, description="Only transcripts with answers by this "
                                             "speaker (part of the name, or a label).")] = None,
    ) -> list[TranscriptRef]:
        """The transcripts by date; the number within the filters in the X-Total-Count header."""
        page, total = core.transcripts(limit, offset, _iso(since), _iso(until), q, speaker)
        response.headers["X-Total-Count"] = str(total)
        return [TranscriptRef.of(i) for i in page]

    @app.get("/api/transcripts/{tid}", response_model=TranscriptOut, dependencies=Read)
    def get_transcript(tid: str, core: Core) -> TranscriptOut:
        with core.using() as searcher:
            return TranscriptOut.of(searcher.store.transcript(tid))

    @app.get("/api/answers/{answer_id}", response_model=AnswerPage, dependencies=Read)
    def get_answer(answer_id: str, core: Core) -> AnswerPage:
        """An answer by its id (from any answer's `id`), with the exchange around it: the question, the
        answer, the turns before and after."""
        return AnswerPage.of(core.answer(answer_id))

    @app.get("/a/{answer_id}", response_class=HTMLResponse, dependencies=Read, tags=["embed"])
    def answer_page(answer_id: str, request: Request, core: Core) -> HTMLResponse:
        """The answer as a small self-contained HTML page: the target of the `<iframe>` snippet and of oEmbed."""
        try:
            ctx = core.answer(answer_id)
        except NotFound as exc:
            return HTMLResponse(f"<!doctype html><title>Not found</title><p>{html.escape(str(exc))}</p>", 404,
                                headers=PAGE_HEADERS)
        url = page_url(str(request.base_url), ctx.answer.id)
        oembed_url = str(request.base_url).rstrip("/") + "/api/oembed?" + urlencode({"url": url})
        return HTMLResponse(page_html(ctx, url, oembed_url), headers=PAGE_HEADERS)

    @app.get("/api/oembed", response_model=OEmbedOut, dependencies=Read, tags=["embed"],
             responses={501: {"description": "Only format=json is served."}})
    def oembed_answer(
        request: Request,
        core: Core,
        url: Annotated[str, Query(max_length=2000, description="An answer page: http(s)://HOST/a/{id}.")],
        maxwidth: Annotated[int | None, Query(ge=50, le=4000)] = None,
        maxheight: Annotated[int | None, Query(ge=50, le=4000)] = None,
        format: Annotated[str, Query(description="json (xml is not served: 501).")] = "json",
    ):
        """oEmbed 1.0 (https://oembed.com) for an answer's page: a "rich" type with an `<iframe>`."""
        if format != "json":
            return JSONResponse({"detail": "only format=json is served"}, status_code=501)
        ctx = core.answer(answer_id_of_url(url))
        base = str(request.base_url)
        return OEmbedOut(**oembed(ctx, page_url(base, ctx.answer.id), base, maxwidth, maxheight))

    @app.post("/api/transcripts", response_model=IngestOut, dependencies=[Depends(require_key)],
              responses={202: {"model": JobOut, "description": "A large upload: its ingest job, to follow."}})
    async def upload(
        core: Core,
        files: Annotated[list[UploadFile], File(description="Transcript files.")],
        background: Annotated[bool, Query(description="Answer at once with the job (202), whatever the size.")] = False,
    ):
        limit = int(settings.max_upload_mb * 1024 * 1024)
        items = [(_safe_name(f.filename), await f.read(limit + 1)) for f in files]  # bounded reads; the core judges
        core.check_uploads(items)
        job = core.jobs.submit(items)  # the writer thread: the event loop stays free
        if background or sum(len(d) for _, d in items) > WAIT_FOR_UPLOAD_BYTES:
            return JSONResponse(JobOut.of(job).model_dump(mode="json"), status_code=202,
                                headers={"Location": f"/api/jobs/{job.id}"})
        return IngestOut.of(await asyncio.wrap_future(job.future))

    @app.get("/api/jobs/{job_id}", response_model=JobOut, dependencies=[Depends(require_key)])
    def get_job(job_id: str, core: Core) -> dict:
        return JobOut.of(core.jobs.get(job_id))

    @app.delete("/api/transcripts/{tid}", dependencies=[Depends(require_key)])
    def delete_transcript(tid: str, core: Core) -> dict:
        with core.using() as searcher:
            searcher.store.transcript_info(tid)  # 404 for an unknown id
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


DOCS_ASSETS = "/docs-assets"


def serve_docs(app: FastAPI) -> None:
    """/docs from Swagger UI's files in the package (swagger-ui-bundle): it works offline, no CDN."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="onrecord API",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")


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
    index = [] if is_remote(settings.index) else [Path(settings.index).resolve()]
    candidates = [*index, Path.cwd().resolve(), Path.home().resolve(),
                  *(Path(p) for p in ("/etc", "/proc", "/sys", "/root", "/home", "/var", "/usr", "/opt", "/srv"))]
    return [str(p) for p in candidates if not upload.is_relative_to(p)]


# the core's errors as HTTP statuses: the first class in this order that the error is an instance of
HTTP_STATUS = ((NotFound, 404), (IndexLocked, 409), (BadQuery, 422), (TooLarge, 413), (ModelError, 503),
               (IndexError_, 503), (TranscriptError, 422), (OnrecordError, 400))


def known_parameters(request: Request) -> None:
    """An unknown query parameter is a mistake worth saying (`?speakr=Kirby` would otherwise be
    ignored and answer for every speaker): 422."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    known, todo = set(), [route.dependant]
    while todo:  # the route's own parameters and its dependencies'
        d = todo.pop()
        known |= {p.alias for p in d.query_params}
        todo += d.dependencies
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise BadQuery(f"unknown query parameter(s): {', '.join(unknown)}; this endpoint takes: "
                       f"{', '.join(sorted(known)) or 'none'}")


def http_status(exc: OnrecordError) -> int:
    return next(status for kind, status in HTTP_STATUS if isinstance(exc, kind))


def _key_matches(authorization: str | None, key: str) -> bool:
    """Constant-time comparison of a 'Bearer KEY' header with the key; the key is never logged."""
    given = (authorization or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), key.encode())


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _safe_name(name: str | None) -> str:
    """Only the base name of an uploaded file: no folders, so it cannot point outside the upload."""
    base = os.path.basename((name or "upload.txt").replace("\\", "/")).strip() or "upload.txt"
    return base[:200]
