"""Ingest: files -> parse -> chunk -> embed -> repeats -> one new index generation.

A file that cannot be parsed is reported with its reason and skipped; the rest of the batch
lands. A transcript already in the index (same content hash) is skipped as a duplicate.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import repeats
from .chunking import chunk
from .embedding import Embedder
from .errors import IndexError_, TranscriptError
from .inspection import structure_warnings
from .models import Passage, Transcript
from .registry import canonical_names
from .store import open_writer
from .transcripts import SUFFIXES, parse_source, sources_from_bytes

MAX_FILE_MB = 20.0


@dataclass
class IngestReport:
    added: list[Transcript] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # file names
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file, note): landed, but worth a word
    passages: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [
            f"{len(self.added)} transcript(s) added ({self.passages} passages), "
            f"{len(self.duplicates)} skipped as duplicates, {len(self.failed)} failed"
        ]
        lines += [f"  note: {name}: {note}" for name, note in self.notes]
        lines += [f"  failed: {name}: {reason}" for name, reason in self.failed]
        return "\n".join(lines)


def collect_files(paths: Iterable[str | Path], max_mb: float = MAX_FILE_MB) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files to ingest and the paths that cannot be used, with the reason.

    Folders are walked recursively without following links to folders (no loops); a link to a
    file is read, a broken one reported. Only files with a transcript suffix are taken from folders.
    """
    files, problems = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, _dirs, names in os.walk(path):
                found += [Path(root) / n for n in names if Path(n).suffix.lower() in SUFFIXES]
            if not found:
                problems.append((str(path), f"no transcript files ({', '.join(sorted(SUFFIXES))}) in this folder"))
            files.extend(sorted(found))
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            problems.append((str(path), "no such file or folder"))
    usable = []
    for f in files:
        try:
            size = f.stat().st_size
        except OSError as exc:
            problems.append((str(f), f"cannot read the file: {exc.strerror or exc}"))
            continue
        if not f.is_file():
            problems.append((str(f), "not a regular file"))
        elif size > max_mb * 1024 * 1024:
            problems.append((str(f), f"the file is {size / 1024 / 1024:.1f} MB; the limit is {max_mb:g} MB (ONRECORD_MAX_UPLOAD_MB)"))
        else:
            usable.append(f)
    return usable, problems


def parse_many(items: Iterable[tuple[str, bytes]], meta: dict | None = None
               ) -> tuple[list[Transcript], list[tuple[str, str]], list[tuple[str, str]]]:
    """Parse (path, bytes) pairs into transcripts, failures (path, reason) and notes (path, note).

    A failure is recorded, never raised. A transcript's `file` is the base name; failures and
    notes name the path as given.
    """
    transcripts, failed, notes = [], [], []
    for name, data in items:
        try:
            sources = sources_from_bytes(data, Path(name).name, meta)
            parsed = [parse_source(s) for s in sources]
            transcripts.extend(parsed)
            notes.extend((name, s.note) for s in sources[:1] if s.note)
            for t in parsed:  # a weak reading is said per file: it landed, but may be misread
                notes.extend((t.file if len(parsed) > 1 else name, w) for w in structure_warnings(t))
        except TranscriptError as exc:
            failed.append((name, str(exc)))
        except (RecursionError, MemoryError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            # a file the parser did not foresee: that file's failure, never the batch's
            failed.append((name, f"could not be read ({type(exc).__name__}: {str(exc)[:200]})"))
    return transcripts, failed, notes


def _read(files: list[Path]) -> Iterable[tuple[str, bytes]]:
    for path in files:
        try:
            yield str(path), path.read_bytes()
        except OSError as exc:
            yield str(path), exc


def ingest_files(paths: Iterable[str | Path], index_dir: str | Path, embedder: Embedder, meta: dict | None = None,
                 progress: bool = False, max_mb: float = MAX_FILE_MB) -> IngestReport:
    """Ingest files and folders into the index at `index_dir`."""
    files, problems = collect_files(paths, max_mb)
    items, failed = [], list(problems)
    for name, data in _read(files):
        if isinstance(data, OSError):
            failed.append((name, f"cannot read the file: {data.strerror or data}"))
        else:
            items.append((name, data))
    return ingest_bytes(items, index_dir, embedder, meta=meta, progress=progress, failed=failed)


def ingest_bytes(items: list[tuple[str, bytes]], index_dir: str | Path, embedder: Embedder, meta: dict | None = None,
                 progress: bool = False, failed: list[tuple[str, str]] | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Ingest already-read files (name, content); the shared path of the CLI and the HTTP upload.
    `on_progress(done, total)` hears how many passages are embedded."""
    report = IngestReport(failed=list(failed or []))
    transcripts, parse_failures, notes = parse_many(items, meta)
    report.failed.extend(parse_failures)
    report.notes.extend(notes)
    if not transcripts:
        return report
    embedder_dim = embedder.dim or _probe_dim(embedder)
    with open_writer(index_dir, embedder.name, embedder_dim, embedder.backend) as writer:
        transcripts = canonical_names(transcripts, writer.known_speakers())  # one name per person
        fresh: list[tuple[Transcript, list[Passage]]] = []
        seen = set()
        for t in transcripts:
            if writer.has(t.id) or t.id in seen:
                report.duplicates.append(t.file)
                continue
            seen.add(t.id)
            fresh.append((t, chunk(t)))
            other = writer.same_occasion(t)
            if other:
                report.notes.append((t.file, f"may be another version of indexed transcript {other} (same title and date)"))

        if not fresh:
            return report
        texts = [p.embedding_text() for _, ps in fresh for p in ps]
        bar = _progress_bar(len(texts)) if progress else None
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if bar:
                bar.update(n)
            if on_progress:
                on_progress(done, len(texts))

        if on_progress:
            on_progress(0, len(texts))
        try:
            vectors = embedder.embed(texts, progress=tick)
        finally:
            if bar:
                bar.close()
        at = 0
        for t, ps in fresh:
            writer.add(t, ps, vectors[at : at + len(ps)])
            at += len(ps)
            report.added.append(t)
            report.passages += len(ps)
        # talking points: the same speaker's (nearly) same words in the new and the indexed transcripts
        writer.add_repeats(repeats.find([p for _, ps in fresh for p in ps], vectors, writer.similar))
        writer.commit()
    return report


def remove_transcripts(ids: list[str], index_dir: str | Path, model: str, dim: int, backend: str) -> None:
    """Delete transcripts from the index (everywhere) in one new generation."""
    with open_writer(index_dir, model, dim, backend) as writer:
        for tid in ids:
            writer.remove(tid)
        writer.commit()


def compact_index(index_dir: str | Path, model: str, dim: int, backend: str) -> None:
    """Rewrite a local index's vectors as one segment (its graph rebuilt without removed vectors)
    and its word counts and registry as new base tables, in one new generation. Small writes leave
    segments and patches behind; they are merged as they pile up, and all at once here.

    Raises:
        IndexError_: the store compacts itself (Milvus), or the index cannot be written.
    """
    with open_writer(index_dir, model, dim, backend) as writer:
        if not hasattr(writer, "compact"):
            raise IndexError_(f"{index_dir} is a Milvus store, which merges its own segments: nothing to compact")
        writer.compact()
        writer.commit()


def _probe_dim(embedder: Embedder) -> int:
    return int(embedder.embed(["dimension probe"]).shape[1])


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding passages", unit="passage", file=sys.stderr, dynamic_ncols=True)
