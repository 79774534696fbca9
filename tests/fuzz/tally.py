"""Counts of what the suite sent and what came back, per route, printed at the end of the session.

With `LLMSWITCH_FUZZ_KEEP_GOING=1` a violation is counted and the example passes, so a long run
surveys every failing route at once instead of stopping (and shrinking) at the first; the session
then fails if anything was counted.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fuzz.verdict import Violation
from tests.fuzz.wire import Answer, NoAnswer

KEEP_GOING = os.environ.get("LLMSWITCH_FUZZ_KEEP_GOING", "") not in ("", "0")


@dataclass
class Tally:
    statuses: dict[str, Counter[int | str]] = field(default_factory=lambda: defaultdict(Counter))
    violations: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, str] = field(default_factory=dict)  # first violation seen per (route, reason)
    crashes: Counter[str] = field(default_factory=Counter)  # the gateways' own logged unhandled errors

    def read_log(self, name: str, log: str) -> None:
        """Count the distinct unhandled errors a gateway logged: where each was raised, and what."""
        lines = log.splitlines()
        for start, line in enumerate(lines):
            if "unhandled error in " not in line:
                continue
            block = []
            for following in lines[start + 1:]:
                if following[:4].isdigit():  # the next log record's timestamp
                    break
                block.append(following)
            frames = [b.strip() for b in block if b.strip().startswith("File ")]
            errors = [b for b in block if b and not b.startswith(" ")]
            where = frames[-1].split("/src/")[-1] if frames else "?"
            self.crashes[f"{name}: {where}: {errors[-1][:160] if errors else '?'}"] += 1

    def answered(self, route: str, answer: Answer) -> None:
        self.statuses[route][answer.status] += 1

    def unanswered(self, route: str) -> None:
        self.statuses[route]["none"] += 1

    def violated(self, route: str, error: AssertionError) -> None:
        reason = str(error).split("\n", 1)[0][:120]
        self.violations[route][reason] += 1
        self.examples.setdefault(f"{route}: {reason}", str(error)[:1500])
        if not KEEP_GOING:
            raise error

    def lines(self) -> list[str]:
        out = [f"{'route':<44} {'sent':>6}  statuses"]
        for route in sorted(self.statuses):
            counts = self.statuses[route]
            shown = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items(), key=lambda i: str(i[0])))
            out.append(f"{route:<44} {sum(counts.values()):>6}  {shown}")
        total = sum(sum(c.values()) for c in self.statuses.values())
        def fives(kind: str) -> int:
            return sum(n for route, c in self.statuses.items() if _kind(route) == kind
                       for s, n in c.items() if isinstance(s, int) and s >= 500)

        out.append(f"{'all routes':<44} {total:>6}  5xx: {fives('own')} (and {fives('upstream')} where the test "
                   "made the upstream fail)")
        for crash, n in self.crashes.most_common():
            out.append(f"GATEWAY LOGGED {n} x {crash}")
        for route in sorted(self.violations):
            for reason, n in self.violations[route].most_common():
                out.append(f"VIOLATION {route}: {n} x {reason}")
        return out


TALLY = Tally()


def _kind(route: str) -> str:
    return "upstream" if "(upstream" in route else "own"


def observe(route: str, send: Callable[[], Answer], judge: Callable[[Answer], None]) -> Answer | None:
    """Send, count the answer, judge it, count a violation; returns the answer (None when there was
    none and KEEP_GOING let the example pass)."""
    try:
        answer = send()
    except NoAnswer as error:
        TALLY.unanswered(route)
        TALLY.violated(route, error)
        return None
    TALLY.answered(route, answer)
    try:
        judge(answer)
    except Violation as error:
        TALLY.violated(route, error)
    return answer
