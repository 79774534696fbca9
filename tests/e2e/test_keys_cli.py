"""`llmswitch keys ...` against a real SQLite database, and a running gateway seeing its changes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from llmswitch.cli import app
from tests.support.processes import start_gateway

runner = CliRunner()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "llmswitch.yaml"
    path.write_text(yaml.safe_dump({
        "auth": {"master_key": "sk-master-cli", "secret": "cli-secret"},
        "database_url": f"sqlite:///{tmp_path}/keys.db",
        "providers": {"demo": {"type": "demo"}}, "models": {"demo-echo": [{"provider": "demo"}]}}))
    return path


def keys(config_file: Path, *args: str) -> Any:
    result = runner.invoke(app, ["keys", *args, "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_create_prints_the_key_once_with_its_settings(config_file: Path) -> None:
    created = keys(config_file, "create", "--name", "ci", "-m", "gpt-*", "--rpm", "30", "--budget-usd", "5",
                   "--budget-period", "monthly", "--expires", "30d", "--metadata", "team=infra")
    assert created["key"].startswith("sk-llms-")
    assert (created["models"], created["rpm"], created["budget_usd"]) == (["gpt-*"], 30, 5.0)
    assert created["metadata"] == {"team": "infra"}
    assert created["expires_at"] == pytest.approx(time.time() + 30 * 86400, abs=60)
    shown = keys(config_file, "show", created["id"])
    assert "key" not in shown and shown["name"] == "ci"


def test_list_update_revoke_and_rotate(config_file: Path) -> None:
    first = keys(config_file, "create", "--name", "one")
    second = keys(config_file, "create", "--name", "two")
    assert keys(config_file, "update", first["id"], "--tpm", "1000", "--disabled")["tpm"] == 1000
    keys(config_file, "revoke", second["id"])
    assert [k["name"] for k in keys(config_file, "list")] == ["one"]
    assert len(keys(config_file, "list", "--all")) == 2
    rotated = keys(config_file, "rotate", first["id"])
    assert rotated["id"] == first["id"] and rotated["key"] != first["key"]


def test_an_invalid_value_exits_non_zero(config_file: Path) -> None:
    result = runner.invoke(app, ["keys", "create", "--rpm", "0", "--config", str(config_file)])
    assert result.exit_code == 2 and "rpm" in result.output


def test_an_unknown_id_exits_non_zero(config_file: Path) -> None:
    assert runner.invoke(app, ["keys", "show", "key_nope", "--config", str(config_file)]).exit_code == 1


def status_of(url: str, key: str) -> int:
    request = urllib.request.Request(f"{url}/v1/chat/completions", method="POST",
                                     data=json.dumps({"model": "demo-echo", "messages": [
                                         {"role": "user", "content": "hi"}]}).encode(),
                                     headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_running_gateway_picks_up_cli_changes_within_a_second(config_file: Path) -> None:
    database = config_file.parent / "keys.db"
    config = yaml.safe_load(config_file.read_text())
    config["database_url"] = f"sqlite:///{database}"
    with start_gateway(config) as gateway:
        created = keys(config_file, "create")
        time.sleep(1.3)
        assert status_of(gateway.url, created["key"]) == 200
        keys(config_file, "revoke", created["id"])
        time.sleep(1.3)
        assert status_of(gateway.url, created["key"]) == 401
