"""The local index folder's bookkeeping: the manifest, its generations, checksums and the writer's lock.

    INDEX/manifest.json            format, model, dimension, counts, generation, data folder, checksums,
                                   the shared database's base tables (versions.py)
    INDEX/gen-000007/...           one generation's files (lexical.py, vectors.py): its own, and links
                                   to the unchanged files of the generation before
    INDEX/recent-000000123456.*    the recent passages' vectors (.f32) and rows (.rows), appended to:
                                   the manifest names how many bytes are its generation's, and their crc32
    INDEX/.lock                    held by the one writer

A writer builds a new generation in a temporary folder, commits its rows (tagged with the new
generation, so no reader sees them yet), and publishes it by renaming the folder and then
replacing manifest.json (an atomic rename). A reader follows manifest.json, so it sees either the
old generation or the new one, never a half-written index; a crashed writer leaves a temporary
folder and perhaps rows no reader sees, both taken back by the next one. A small write (local.py)
appends to the recent files instead, past the bytes the published manifest names, and publishes
a manifest naming more of them; a crashed one leaves bytes past them, cut off by the next writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import zlib
from pathlib import Path

from ..errors import IndexError_, IndexLocked, ModelMismatch

FORMAT = 2
MANIFEST = "manifest.json"
DB = "onrecord.sqlite"  # checked by size alone above VERIFY_DB_BYTES

# A database file up to this size is checked against its checksum when a generation is opened
# (crc32 reads ~1.3 GB/s here: 0.4 s); a larger one by its size, and SQLite finds damage to the
# pages it reads. Vector files are always checked: damage there gives silently wrong answers.
VERIFY_DB_BYTES = 512 * 1024 * 1024
_GENERATION_DIR = re.compile(r"gen-\d{6}")
_REQUIRED = {"model": str, "dim": int, "generation": int, "data": str}


def read_manifest(index_dir: Path) -> dict | None:
    """The manifest of an index directory, or None when there is no index there.

    Raises:
        IndexError_: the manifest is unreadable, of another format, or not a whole manifest.
    """
    path = Path(index_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexError_(f"{path} is unreadable ({exc}); rebuild the index with 'onrecord ingest'") from None
    if not isinstance(manifest, dict):
        raise IndexError_(f"{path} is not an index manifest (a JSON object); rebuild the index with 'onrecord ingest'")
    if manifest.get("format") != FORMAT:
        raise IndexError_(f"{path} has format {manifest.get('format')!r}, this onrecord reads {FORMAT}: rebuild the index")
    for key, kind in _REQUIRED.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise IndexError_(f"{path} is damaged: '{key}' is missing or not a {kind.__name__}; "
                              "rebuild the index with 'onrecord ingest'")
    if not _GENERATION_DIR.fullmatch(manifest["data"]) or manifest["dim"] <= 0:
        raise IndexError_(f"{path} is damaged (data folder {manifest['data']!r}, dimension {manifest['dim']}); "
                          "rebuild the index with 'onrecord ingest'")
    if not isinstance(manifest.get("checksums", {}), dict) or not isinstance(manifest.get("backend", ""), str):
        raise IndexError_(f"{path} is damaged (checksums or backend); rebuild the index with 'onrecord ingest'")
    return manifest


def manifest_stamp(index_dir: Path) -> tuple | None:
    """What changes whenever a writer publishes (the manifest is replaced by a rename): cheap to
    ask on every request, unlike reading the manifest."""
    try:
        st = os.stat(Path(index_dir) / MANIFEST)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def file_checksum(path: Path, size_only: bool = False) -> str:
    """crc32 of a file, read in 16 MB blocks ("crc32:SIZE:HEX"); with `size_only`, a database too
    large to check at every load (VERIFY_DB_BYTES) is recorded by its size alone ("size:SIZE:-"):
    its crc32 would never be read."""
    if size_only and (size := path.stat().st_size) > VERIFY_DB_BYTES:
        return f"size:{size}:-"
    crc, size = 0, 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            crc, size = zlib.crc32(block, crc), size + len(block)
    return f"crc32:{size}:{crc:08x}"


# Files this process has checked, by identity: a generation links the files it does not change,
# so a server opening each new generation checks only what that generation wrote.
_VERIFIED: dict[tuple, str] = {}


def verify_files(data: Path, checksums: dict) -> None:
    """Check a generation's files against the checksums its manifest recorded (see VERIFY_DB_BYTES).

    Raises:
        IndexError_: a file is damaged.
    """
    for name, expected in checksums.items():
        path = data / name
        if not isinstance(expected, str) or "/" in name:
            continue
        try:
            st = path.stat()
        except OSError:
            raise IndexError_(f"index file {path} is missing: rebuild the index with 'onrecord ingest'") from None
        parts = expected.split(":")
        size = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
        if name == DB and st.st_size > VERIFY_DB_BYTES and st.st_size == size:
            continue
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)  # not ctime: a new link changes it
        if _VERIFIED.get(identity) == expected:
            continue
        if st.st_size != size or file_checksum(path) != expected:
            raise IndexError_(f"index file {path} is corrupt (its checksum does not match the manifest): "
                              "rebuild the index with 'onrecord ingest'")
        _VERIFIED[identity] = expected


def index_backend(manifest: dict) -> str:
    """The embedding backend an index's vectors came from (indexes before backends: torch)."""
    return manifest.get("backend", "torch")


def check_model(manifest: dict, model: str, backend: str, index_dir: Path) -> None:
    """An index's vectors all come from one model and backend: refuse another."""
    if manifest.get("model") != model:
        raise ModelMismatch(
            f"the index at {index_dir} was built with embedding model '{manifest.get('model')}' "
            f"(dimension {manifest.get('dim')}), but the configured model is '{model}': set "
            f"ONRECORD_MODEL={manifest.get('model')} or rebuild the index into a new directory"
        )
    if index_backend(manifest) != backend:
        raise ModelMismatch(
            f"the index at {index_dir} was built with the '{index_backend(manifest)}' embedding backend, but the "
            f"configured backend is '{backend}': set ONRECORD_BACKEND={index_backend(manifest)} (or auto) "
            "or rebuild the index into a new directory"
        )


class Lock:
    """The one writer's lock on an index folder (flock on INDEX/.lock, which names its holder).

    Raises:
        IndexLocked: another process holds it.
        OSError: the folder cannot be made or the lock file opened.
    """

    def __init__(self, index_dir: Path):
        index_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(index_dir / ".lock", "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise IndexLocked(f"the index at {index_dir} is being written by {holder}; try again when it finishes") from None
        try:  # who holds the lock, for the message a second writer gets; a full disk may refuse it
            self._file.seek(0)
            self._file.truncate()
            self._file.write(f"pid {os.getpid()}")
            self._file.flush()
        except OSError:
            pass

    def release(self) -> None:
        """Always let go, whatever the disk says (closing the file releases it too)."""
        try:
            self._file.seek(0)
            self._file.truncate()
        except OSError:
            pass
        try:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            try:
                self._file.close()
            except OSError:
                pass


def clear_stale(index_dir: Path, current: str | None, recent: list[str | None] = ()) -> None:
    """Remove half-written folders, generations a crash left behind, and the recent passages'
    files (their vectors: vectors.py; their rows: rowlog.py) of generations before the published
    one (the writer holds the lock)."""
    for stale in index_dir.glob("gen-*"):
        if stale.is_dir() and stale.name != current:
            shutil.rmtree(stale, ignore_errors=True)
    for stale in [*index_dir.glob("recent-*.f32"), *index_dir.glob("recent-*.rows")]:
        if stale.name not in recent:
            stale.unlink(missing_ok=True)


def publish(index_dir: Path, tmp: Path | None, generation: int, manifest: dict, written: list[str],
            linked: list[str] = ()) -> dict:
    """Make a fully written generation folder the index: fsync its files, rename the folder, then
    replace manifest.json (the atomic step) and remove the previous generation. Files `linked`
    unchanged from the previous generation keep the checksums it recorded. Without a folder (`tmp`
    None: a write whose rows are all in the database) the generation keeps the previous one's
    folder and files. Returns the manifest."""
    previous = read_manifest(index_dir) or {}
    if tmp is None:
        final, checksums = index_dir / previous["data"], dict(previous.get("checksums", {}))
    else:
        for name in written:
            fsync(tmp / name)
        checksums = {name: file_checksum(tmp / name, size_only=name == DB) for name in written}
        for name in linked:
            checksums[name] = previous.get("checksums", {}).get(name) or file_checksum(tmp / name)
        final = index_dir / f"gen-{generation:06d}"
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        fsync(index_dir)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest = {"format": FORMAT, **manifest, "generation": generation, "data": final.name, "checksums": checksums,
                "created": previous.get("created", now), "updated": now}
    tmp_manifest = index_dir / (MANIFEST + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    fsync(tmp_manifest)
    os.replace(tmp_manifest, index_dir / MANIFEST)
    fsync(index_dir)
    old = previous.get("data")
    if old and old != final.name:
        shutil.rmtree(index_dir / old, ignore_errors=True)  # open readers keep their file handles
    return manifest


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# The recent passages' files (vectors.py, rowlog.py) are appended to in place: the manifest names
# how many of a file's bytes are its generation's, and their crc32 ({"file", "bytes", "crc32"}).
def append_published(index_dir: Path, entry: dict, data: bytes) -> dict:
    """Append data to the file `entry` names, after the bytes it names (what a killed writer
    appended past them cut off), on disk when this returns; the entry the manifest is to name now."""
    path = Path(index_dir) / entry["file"]
    new = not path.exists()
    with open(path, "ab") as fh:
        fh.truncate(entry["bytes"])
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        fsync(Path(index_dir))  # the folder, which holds the new name
    return {**entry, "bytes": entry["bytes"] + len(data), "crc32": f"{zlib.crc32(data, int(entry['crc32'], 16)):08x}"}


def read_published(index_dir: Path, entry: dict) -> bytes:
    """The bytes of a file that its manifest entry names.

    Raises:
        IndexError_: the file is missing, shorter than the entry says, or its checksum differs.
    """
    path = Path(index_dir) / entry["file"]
    try:
        with open(path, "rb") as fh:
            data = fh.read(entry["bytes"])
    except OSError:
        raise IndexError_(f"index file {path} is missing: rebuild the index with 'onrecord ingest'") from None
    if len(data) != entry["bytes"] or f"{zlib.crc32(data):08x}" != entry["crc32"]:
        raise IndexError_(f"index file {path} is corrupt (its checksum does not match the manifest): "
                          "rebuild the index with 'onrecord ingest'")
    return data
