"""How many examples each fuzz test runs: the hypothesis profile and the scale, from the environment.

`LLMSWITCH_FUZZ_PROFILE` picks a profile registered in this folder's conftest (`ci`, the default,
is derandomized and keeps no example database, so every run sends the same requests; `explore`
draws fresh examples each run) and `LLMSWITCH_FUZZ_SCALE` multiplies every test's example count
(e.g. 20 for a long local run).
"""

from __future__ import annotations

import os

from hypothesis import settings

SCALE = float(os.environ.get("LLMSWITCH_FUZZ_SCALE", "1"))
PROFILE = os.environ.get("LLMSWITCH_FUZZ_PROFILE", "ci")


def fuzz_settings(examples: int) -> settings:
    """The session's profile with EXAMPLES (scaled) as this test's example count."""
    return settings(settings.get_profile(PROFILE), max_examples=max(1, int(examples * SCALE)))
