"""Start-up keeps the cycle collector off the hot path: start-up objects frozen, young collections rare."""

from __future__ import annotations

import subprocess
import sys

from llmswitch.app import GC_YOUNG_THRESHOLD

PROBE = """
import asyncio, gc
from aiohttp import web
from llmswitch.app import build_app
from llmswitch.config import load_config

async def main():
    runner = web.AppRunner(build_app(load_config(None)))
    await runner.setup()  # runs the start-up hooks
    print(gc.get_threshold()[0], gc.get_freeze_count())
    await runner.cleanup()

asyncio.run(main())
"""


def test_a_started_app_has_frozen_its_start_up_objects_and_raised_the_young_threshold() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60).stdout
    threshold, frozen = (int(field) for field in out.split())
    assert threshold == GC_YOUNG_THRESHOLD > 700
    assert frozen > 10_000
