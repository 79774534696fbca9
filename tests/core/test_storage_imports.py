"""Importing the app and the CLI loads no storage stack: it costs half a second of start-up and about
40 MB; keys mode loads it to start, the usage ledger in a thread once the gateway serves."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "asyncpg", "aiosqlite", "redis", "cryptography")


def test_the_app_and_cli_import_no_storage_redis_or_cryptography() -> None:
    probe = ("import sys, llmswitch.cli, llmswitch.app; "
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
