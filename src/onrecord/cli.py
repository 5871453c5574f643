"""The `onrecord` command: ingest, ask, serve, eval, documents. Thin: the work is in the stages."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
import textwrap
import time
from pathlib import Path

from .config import Settings, get_settings
from .contract import AskResponse, IngestOut, TranscriptRef, VerifyResponse
from .errors import OnrecordError
from .service import Onrecord


def _date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date (YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onrecord", description="What a spokesperson actually said, word for word.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_index(p):
        p.add_argument("--index", help="index folder, milvus://HOST:PORT/NAME or milvus-lite:///PATH.db "
                       "(default: $ONRECORD_INDEX or indexes/default)")
        return p

    p = with_index(sub.add_parser("ingest", help="add transcript files or folders to the index"))
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--title", help="title for transcripts that lack one")
    p.add_argument("--date", type=_date, help="date (YYYY-MM-DD) for transcripts that lack one")
    p.add_argument("--source-url", help="source URL for transcripts that lack one")
    p.add_argument("--speaker", action="append", dest="speakers", help="the spokesperson, for transcripts without labels")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = with_index(sub.add_parser("ask", help="answer a question with verbatim quotes"))
    p.add_argument("question")
    p.add_argument("-k", "--top-k", type=int, default=5, help="number of answers (1-50, default 5)")
    p.add_argument("--speaker", help="only answers by this speaker (part of the name)")
    p.add_argument("--since", type=_date, help="only transcripts on or after this date")
    p.add_argument("--until", type=_date, help="only transcripts on or before this date")
    p.add_argument("--json", action="store_true", help="print the JSON of POST /api/ask")

    p = with_index(sub.add_parser("verify", help="check a quote: verbatim, close (and what differs) or not on the record"))
    p.add_argument("quote", help="the quote as published; ... or … marks an omission")
    p.add_argument("--speaker", help="who it is attributed to")
    p.add_argument("--since", type=_date, help="only transcripts on or after this date")
    p.add_argument("--until", type=_date, help="only transcripts on or before this date")
    p.add_argument("--json", action="store_true", help="print the JSON of POST /api/verify")

    p = with_index(sub.add_parser("serve", help="serve the HTTP API and the chat UI"))
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="server processes over the index (default 1: UI + API; more: the API only)")

    p = with_index(sub.add_parser("eval", help="retrieval metrics on graded query files"))
    p.add_argument("queries", type=Path, nargs="+", help="one or more query files (JSONL); with several, a table "
                   "for each and one over all of them, kinds of the same name together")
    p.add_argument("--results", type=Path, help="also write the ranked answers (score.py's results format)")
    p.add_argument("--per-query", action="store_true", help="print each query's first relevant rank")

    p = sub.add_parser("inspect", help="show how a transcript file is read: metadata, turns, exchanges, warnings")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="print the reading as JSON")

    p = sub.add_parser("documents", help="list or remove indexed transcripts")
    dsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    with_index(dsub.add_parser("list", help="list transcripts")).add_argument("--json", action="store_true")
    with_index(dsub.add_parser("remove", help="remove transcripts by id")).add_argument("ids", nargs="+", metavar="ID")
    with_index(sub.add_parser("compact", help="merge a local index's segments into one (small writes leave several)"))
    return parser


def _settings(args, settings: Settings) -> Settings:
    changes = {}
    if getattr(args, "index", None):
        changes["index"] = args.index
    for key in ("host", "port", "workers"):
        if getattr(args, key, None):
            changes[key] = getattr(args, key)
    return settings.model_copy(update=changes)


def main(argv: list[str] | None = None, onrecord: Onrecord | None = None) -> int:
    """Run the CLI; returns the exit code. `onrecord` lets tests inject a service (e.g. a fake embedder)."""
    args = build_parser().parse_args(argv)
    if args.command == "inspect":  # reads a file; needs no index and no model
        try:
            return cmd_inspect(args)
        except OnrecordError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if onrecord is None:
        app = Onrecord(_settings(args, get_settings()))
    else:
        app = onrecord
        app.settings = _settings(args, app.settings)
    try:
        code = COMMANDS[args.command](app, args)
        sys.stdout.flush()  # here, so that a reader that has gone is met inside this try
        return code
    except OnrecordError as exc:

        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `onrecord ask ... | head`: the reader has gone; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a tool stopped by SIGPIPE


def cmd_ingest(app: Onrecord, args) -> int:
    meta = {"title": args.title, "date": args.date, "source_url": args.source_url, "speakers": args.speakers}
    report = app.ingest_paths(args.paths, meta=meta, progress=not args.json)
    if args.json:
        print(IngestOut.of(report).model_dump_json(indent=2))
    else:
        print(report.summary())
    return 0 if report.ok else 1


def cmd_ask(app: Onrecord, args) -> int:
    result = app.ask(args.question, top_k=args.top_k, speaker=args.speaker, since=args.since, until=args.until)
    if args.json:
        print(json.dumps(AskResponse.of(result).model_dump(mode="json"), indent=2, ensure_ascii=False))
        return 0
    print(format_result(result))
    return 0


def cmd_verify(app: Onrecord, args) -> int:
    v = app.verify(args.quote, speaker=args.speaker, since=args.since, until=args.until)
    if args.json:
        print(json.dumps(VerifyResponse.of(v).model_dump(mode="json"), indent=2, ensure_ascii=False))
        return 0
    print(format_verification(v))
    return 0


def format_verification(v) -> str:
    verdicts = {"verbatim": "On the record, word for word.", "close": f"Close (similarity {v.similarity:.2f}): the same "
                "statement with words changed.", "not_found": "Not on the record."}
    out = [verdicts[v.verdict] + (f" ({v.reason})" if v.reason else "")]
    for label, a in (("", v.match), ("Said by someone else: ", v.elsewhere)):
        if a is not None:
            t = a.transcript
            out.append(f"{label}{a.speaker}, {t.date or 'undated'}: {t.title}")
            out.append(textwrap.fill(f"“{a.text}”", width=100, initial_indent="   ", subsequent_indent="   "))
            out.append(f"   source: {t.source_url or t.file} · chars {a.span[0]}-{a.span[1]}")
    for d in v.differences:
        out.append(f"   quoted “{d.quoted or '—'}”, said “{d.said or '—'}”")
    return "\n".join(out)


def format_result(result) -> str:
    out = []
    if result.no_answer:
        out.append("Nothing on the record answers this. Closest passages (weak matches):\n")
    for n, a in enumerate(result.answers, 1):
        t = a.transcript
        weak = " [weak match]" if a.weak else ""
        out.append(f"{n}. {a.speaker}, {t.date or 'undated'}: {t.title}{weak}")
        if a.asked:
            who = f" ({a.asked_by})" if a.asked_by else ""
            out.append(textwrap.fill(f"Asked{who}: {a.asked}", 100, initial_indent="   ", subsequent_indent="   "))
        out.append(textwrap.fill(f"“{a.text}”", 100, initial_indent="   ", subsequent_indent="   "))
        if a.also_said:
            dates = ", ".join(x.transcript.date or "undated" for x in a.also_said)
            out.append(f"   said {len(a.also_said) + 1} times since {a.first_said or 'undated'} (also: {dates})")
        src = t.source_url or t.file
        out.append(f"   score {a.score:.2f} · source: {src} · id {a.id}\n")
    return "\n".join(out).rstrip()


def cmd_serve(app: Onrecord, args) -> int:
    from .server import serve

    host, port = app.settings.host, app.settings.port
    try:  # say so before loading anything, and never print "serving on" for a port we cannot have
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise OnrecordError(f"cannot serve on {host}:{port}: {exc.strerror or exc} "
                            "(choose another with --port or ONRECORD_PORT)") from None
    serve(app)
    return 0



def cmd_eval(app: Onrecord, args) -> int:
    from .evaluation import evaluate, format_table, load_queries

    files = []
    for path in args.queries:
        try:
            files.append((path, load_queries(path)))
        except (OSError, ValueError) as exc:
            raise OnrecordError(f"cannot read {path}: {exc}") from None
    searcher = app.searcher()
    results = {}

    def answer(question: str) -> list[str]:
        if question not in results:
            results[question] = searcher.search(question, top_k=10)
        return [a.text for a in results[question].answers]

    everything = []
    for path, queries in files:
        summary, rows = evaluate(queries, answer)
        if len(files) > 1:
            print(f"== {path} ({len(queries)} queries)")
        print(format_table(summary))
        if args.per_query:
            for q, row in zip(queries, rows):
                print(f"{row['id']:<12} rank={row['rank']}  {q['query'][:80]}")
        everything += queries
    if len(files) > 1:
        print(f"== all {len(files)} files ({len(everything)} queries)")
        print(format_table(evaluate(everything, answer)[0]))
    if args.results:
        with open(args.results, "w", encoding="utf-8") as fh:
            for q in everything:
                r = results[q["query"]]
                fh.write(json.dumps({
                    "id": q["id"], "answers": [a.text for a in r.answers],
                    "docs": [a.transcript.file for a in r.answers], "speakers": [a.speaker for a in r.answers],
                }, ensure_ascii=False) + "\n")
    return 0


def cmd_documents(app: Onrecord, args) -> int:
    if args.action == "list":
        infos = app.store().transcripts()
        if getattr(args, "json", False):
            print(json.dumps([TranscriptRef.of(i).model_dump() for i in infos], indent=2, ensure_ascii=False))
        else:
            for i in infos:
                print(f"{i.id}  {i.date or 'undated':<10}  {i.title[:70]}  ({i.file})")
            print(f"{len(infos)} transcript(s)")
        return 0
    app.remove(args.ids)
    print(f"removed {len(args.ids)} transcript(s)")
    return 0


def cmd_compact(app: Onrecord, args) -> int:
    t0 = time.perf_counter()
    app.compact()
    info = app.store().info
    print(f"compacted {app.index}: generation {info.generation}, {info.passages:,} passages in one segment "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_inspect(args) -> int:
    from .inspection import describe, format_inspection
    from .transcripts import parse_file

    transcripts = parse_file(args.file)
    if args.json:
        print(json.dumps([describe(t) for t in transcripts], indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(format_inspection(t) for t in transcripts))
    return 0


COMMANDS = {
"ingest": cmd_ingest, "ask": cmd_ask, "verify": cmd_verify, "serve": cmd_serve, "eval": cmd_eval, "documents": cmd_documents,
"compact": cmd_compact}
