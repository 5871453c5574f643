"""The Milvus store: the index in a Milvus server (standalone or cluster), or in Milvus Lite, the
same engine API embedded in this process (`pip install 'onrecord[milvus]'`).

    schema.py   the location, the client, the six collections and their schemas
    reader.py   MilvusStore: the store contract, read through the engine
    writer.py   MilvusWriter: additions and removals, visible whole at commit
"""

from .reader import MilvusStore
from .schema import describe, parse_location
from .writer import MilvusWriter

__all__ = ["MilvusStore", "MilvusWriter", "describe", "parse_location"]
