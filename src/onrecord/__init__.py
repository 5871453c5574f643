"""onrecord: what a spokesperson actually said, word for word."""

__version__ = "0.1.0"
