"""Open and passthrough modes never load the storage stack: it costs half a second of start-up
and about 40 MB, and only keys mode uses it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "asyncpg", "aiosqlite", "redis", "cryptography")


def test_the_app_and_cli_import_no_storage_redis_or_cryptography() -> None:
    probe = ("import sys, llmswitch.cli, llmswitch.app; "
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
