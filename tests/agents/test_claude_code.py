"""Claude Code (pinned, real) completes a shell tool round trip through the gateway to every provider kind.

`claude -p` asks the gateway; the fake upstream answers with a call to Claude Code's `Bash` tool; Claude
Code runs the command, sends its output back, and the fake's answer to that turn echoes it. So the final
result holds the command's output, and the fake saw that output arrive as a tool result in its own
dialect: request, translation, tool call, tool result and answer all made the trip.
"""

from __future__ import annotations

import pytest

from tests.agents.agents import Workspace, claude_code
from tests.agents.conftest import Upstreams
from tests.agents.upstream import MODELS, marker, results_received, shell_round_trip

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

@pytest.mark.parametrize("provider", sorted(MODELS))
def test_claude_code_runs_a_shell_tool_through_the_gateway(upstreams: Upstreams, workspace: Workspace,
                                                           provider: str) -> None:
    word = marker()
    run = claude_code(workspace, upstreams.gateway.port, MODELS[provider], shell_round_trip("Bash", word))
    assert run.result["is_error"] is False, run.result
    assert word.upper() in run.result["result"]
    assert run.result["num_turns"] == 2
    assert results_received(upstreams.fake.url, word.upper()), "the tool's output never reached the upstream"
