"""Durable state behind one small interface: keys, stored upstream keys, usage, budget alerts.

SQLite by default, PostgreSQL for several instances; the hot path never reads from here (see
`core.auth` for the key cache and `core.usage` for the batch writer).
"""

from llmswitch.store.database import Store, acquire_store, release_store

__all__ = ["Store", "acquire_store", "release_store"]
