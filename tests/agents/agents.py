"""The coding agents as a user runs them non-interactively, each in a throwaway HOME, inside the sandbox.

All are installed by `scripts/install-agents.sh` into `.cache/agents/`. Each run gets an environment
built from nothing (no developer's keys, proxies or settings leak in) with every switch that keeps an
agent from calling home turned on; the sandbox makes sure of the rest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.agents.sandbox import Finished, run_isolated

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "agents"
BIN = CACHE / "node_modules" / ".bin"
INSTALL_SCRIPT = ROOT / "scripts" / "install-agents.sh"
RUN_TIMEOUT_S = 120.0
CLIENT_KEY = "client-key"  # the gateway runs with open auth; agents insist on sending some key

# Claude Code's own switches: no telemetry, no error reports, no update checks, nothing non-essential.
CLAUDE_CODE_QUIET = {"DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                     "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1", "DISABLE_BUG_COMMAND": "1"}
# opencode's: no update check, no models.dev catalogue fetch, no LSP downloads, no sharing, no default
# plugins, no reading ~/.claude, and no opencode.json from the directories above the project.
OPENCODE_QUIET = {"OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1",
                  "OPENCODE_DISABLE_LSP_DOWNLOAD": "1", "OPENCODE_DISABLE_SHARE": "1",
                  "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "OPENCODE_DISABLE_CLAUDE_CODE": "1",
                  "OPENCODE_DISABLE_PROJECT_CONFIG": "1"}
# Codex's, in its config.toml: no update check, no analytics, no feedback uploads. CODEX_KEY_ENV is the
# variable its provider entry names as `env_key`: the key goes out as `Authorization: Bearer`.
CODEX_QUIET = "check_for_update_on_startup = false\n[analytics]\nenabled = false\n[feedback]\nenabled = false\n"
CODEX_KEY_ENV = "LLMSWITCH_API_KEY"


def install_problem() -> str | None:
    """Why the pinned agents are not there (the install script's own words), or None."""
    done = subprocess.run([str(INSTALL_SCRIPT), "--check"], capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else (done.stdout + done.stderr).strip()


@dataclass(frozen=True)
class Workspace:
    """A throwaway HOME and a project directory inside it, where the agent runs its tools."""

    home: Path
    project: Path

    @classmethod
    def under(cls, root: Path) -> Workspace:
        project = root / "project"
        project.mkdir(parents=True)
        return cls(root, project)

    def env(self) -> dict[str, str]:
        home = str(self.home)
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "SHELL": "/bin/bash", "LANG": "C.UTF-8",
                "TERM": "dumb", "XDG_CONFIG_HOME": f"{home}/.config", "XDG_DATA_HOME": f"{home}/.local/share",
                "XDG_CACHE_HOME": f"{home}/.cache", "XDG_STATE_HOME": f"{home}/.local/state"}


@dataclass(frozen=True)
class ClaudeCodeRun:
    finished: Finished
    result: dict[str, Any]  # the `--output-format json` result object: result, is_error, num_turns...


def claude_code(workspace: Workspace, gateway_port: int, model: str, prompt: str) -> ClaudeCodeRun:
    """`claude -p PROMPT` against the gateway; Bash is allowed without asking."""
    env = {**workspace.env(), **CLAUDE_CODE_QUIET, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{gateway_port}",
           "ANTHROPIC_API_KEY": CLIENT_KEY}
    args = [str(BIN / "claude"), "-p", prompt, "--output-format", "json", "--model", model,
            "--allowedTools", "Bash"]
    finished = run_isolated(args, gateway_port=gateway_port, env=env, cwd=workspace.project,
                            timeout_s=RUN_TIMEOUT_S)
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"Claude Code printed no result (exit {finished.returncode}):\n"
                             f"{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}")
    return ClaudeCodeRun(finished, json.loads(lines[-1]))


@dataclass(frozen=True)
class OpencodeRun:
    finished: Finished
    events: list[dict[str, Any]]  # `--format json`: one object per line (step_start, tool_use, text...)

    def texts(self) -> list[str]:
        return [e["part"]["text"] for e in self.events if e.get("type") == "text"]

    def tool_uses(self) -> list[dict[str, Any]]:
        return [e["part"] for e in self.events if e.get("type") == "tool_use"]

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "error"]


def opencode(workspace: Workspace, gateway_port: int, model: str, providers: dict[str, Any],
             prompt: str) -> OpencodeRun:
    """`opencode run` on MODEL ("provider/model") with PROVIDERS as its provider config; bash allowed.

    The prompt goes in on stdin: given as arguments, opencode quotes any with a space in it, which would
    turn the fake's directive into a string of escaped JSON.
    """
    config_dir = workspace.home / ".config" / "opencode"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = {"$schema": "https://opencode.ai/config.json", "autoupdate": False, "share": "disabled",
              "permission": {"bash": "allow"}, "provider": providers}
    (config_dir / "opencode.json").write_text(json.dumps(config, indent=2))
    # opencode installs its plugin package into its config directory unless it finds it there: the
    # install script put it in the cache, so the manifest, lock file and modules are lent from there.
    for name in ("package.json", "package-lock.json"):
        shutil.copy(CACHE / name, config_dir / name)
    (config_dir / "node_modules").symlink_to(CACHE / "node_modules")
    env = {**workspace.env(), **OPENCODE_QUIET}
    args = [str(BIN / "opencode"), "run", "--format", "json", "--model", model]
    finished = run_isolated(args, gateway_port=gateway_port, env=env, cwd=workspace.project,
                            timeout_s=RUN_TIMEOUT_S, stdin=prompt)
    events = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    return OpencodeRun(finished, events)


@dataclass(frozen=True)
class CodexRun:
    finished: Finished
    events: list[dict[str, Any]]  # `exec --json`: one object per line (thread.started, item.completed...)

    def items(self, kind: str) -> list[dict[str, Any]]:
        """The completed items of KIND (agent_message, command_execution, reasoning, error...)."""
        return [e["item"] for e in self.events if e.get("type") == "item.completed" and e["item"]["type"] == kind]

    def turn_ends(self) -> list[str]:
        return [e["type"] for e in self.events if e.get("type") in ("turn.completed", "turn.failed")]

    def errors(self) -> list[str]:
        """What it reported going wrong on the way (`Reconnecting... 2/5 (...)`), also when it got over it."""
        return [e["message"] for e in self.events if e.get("type") == "error"]


def codex(workspace: Workspace, gateway_port: int, model: str, prompt: str, *, builtin: bool = False,
          resume: bool = False, compact_at: int | None = None) -> CodexRun:
    """`codex exec PROMPT` on MODEL, set up for the gateway in one of the two ways users do it; RESUME goes
    on with the workspace's last session; past COMPACT_AT tokens of context Codex compacts it first.

    A provider entry of its own (the default): `wire_api = "responses"` is the only wire Codex has, so
    every turn is `POST {base_url}/responses`, streamed; retries are off so a failure shows at once.
    BUILTIN: its built-in OpenAI provider with the gateway as `openai_base_url` and a key stored by
    `codex login --with-api-key` (that provider reads no key from the environment); it may open the
    Responses API's WebSocket mode first. Codex's own sandbox is bypassed (it is meant for machines
    without one; the network namespace is this one) and it asks no approval. `--strict-config` makes a
    key this version does not know an error, not a silent no-op.
    """
    codex_home = workspace.home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    base_url = f"http://127.0.0.1:{gateway_port}/v1"
    env = {**workspace.env(), "CODEX_HOME": str(codex_home)}
    if builtin:
        provider = f'openai_base_url = "{base_url}"\n{CODEX_QUIET}'
        login = run_isolated([str(BIN / "codex"), "login", "--with-api-key"], gateway_port=gateway_port, env=env,
                             cwd=workspace.project, timeout_s=RUN_TIMEOUT_S, stdin=CLIENT_KEY)
        assert login.returncode == 0, login
    else:
        provider = (f'model_provider = "llmswitch"\n{CODEX_QUIET}[model_providers.llmswitch]\nname = "llmswitch"\n'
                    f'base_url = "{base_url}"\nwire_api = "responses"\nenv_key = "{CODEX_KEY_ENV}"\n'
                    "request_max_retries = 0\nstream_max_retries = 0\n")
        env[CODEX_KEY_ENV] = CLIENT_KEY
    compaction = "" if compact_at is None else f"model_auto_compact_token_limit = {compact_at}\n"
    (codex_home / "config.toml").write_text(f'model = "{model}"\n{compaction}{provider}')
    args = [str(BIN / "codex"), "exec", "--json", "--strict-config", "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox", *(["resume", "--last"] if resume else []), prompt]
    finished = run_isolated(args, gateway_port=gateway_port, env=env, cwd=workspace.project,
                            timeout_s=RUN_TIMEOUT_S)
    events = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    return CodexRun(finished, events)
