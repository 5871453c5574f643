"""onrecord's exceptions: one hierarchy, turned into a clean message at each edge (CLI, HTTP)."""


class OnrecordError(Exception):
    """Base class for errors meant for users."""


class TranscriptError(OnrecordError):
    """A transcript file cannot be read or parsed; the message says why."""


class IndexError_(OnrecordError):
    """The index directory is missing, corrupt, locked or built with another model."""


class IndexNotFound(IndexError_):
    """No index at the configured directory."""


class IndexLocked(IndexError_):
    """Another process is writing the index."""


class ModelMismatch(IndexError_):
    """The index was built with another embedding model."""


class NotFound(OnrecordError):
    """An id that is not in the index."""


class BadQuery(OnrecordError):
    """A question or filter that cannot be searched (empty, too long, bad date)."""


class ModelError(OnrecordError):
    """The embedding model cannot be loaded or run (a missing export, an unsupported model)."""


class TooLarge(OnrecordError):
    """A file over the size limit (ONRECORD_MAX_UPLOAD_MB)."""
