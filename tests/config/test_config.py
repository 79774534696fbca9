"""The config contract: what loads, and the file:line:key errors users see for what does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llmswitch.config import ConfigError, load_config, parse_config

VALID = """\
server:
  port: ${PORT:-4100}
providers:
  up:
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_keys: ["${UP_KEY}"]
models:
  gpt-4o:
    - provider: up
      model: gpt-4o-2024-08-06
aliases:
  gpt-5: gpt-4o
  "gpt-4*": gpt-4o
default_model: null
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(text, "gw.yaml", env=env if env is not None else {"UP_KEY": "k"})
    return [str(p) for p in excinfo.value.problems]


def test_valid_config_interpolates_environment_variables() -> None:
    config = parse_config(VALID, "gw.yaml", env={"UP_KEY": "secret-1", "PORT": "4321"})
    assert config.providers["up"].api_keys == ["secret-1"]
    assert config.server.port == 4321


def test_env_default_is_used_when_variable_is_unset() -> None:
    assert parse_config(VALID, "gw.yaml", env={"UP_KEY": "k"}).server.port == 4100


def test_missing_environment_variable_names_file_line_and_key() -> None:
    assert problems(VALID, env={}) == ["gw.yaml:7: providers.up.api_keys[0]: environment variable UP_KEY is not set"]


def test_unknown_key_is_an_error_with_its_line() -> None:
    assert problems(VALID.replace("  port:", "  prot:")) == ["gw.yaml:2: server.prot: unknown key"]


def test_unknown_top_level_section_is_an_error() -> None:
    assert problems(VALID + "modles: {}\n") == ["gw.yaml:16: modles: unknown key"]


def test_wrong_type_names_the_key() -> None:
    assert problems(VALID.replace("${PORT:-4100}", "lots")) == ["gw.yaml:2: server.port: Expected int, got str"]


def test_deployment_referencing_an_unknown_provider_is_an_error() -> None:
    assert problems(VALID.replace("- provider: up", "- provider: nope")) == [
        "gw.yaml:10: models.gpt-4o[0].provider: unknown provider 'nope'"]


def test_alias_to_an_unknown_model_is_an_error() -> None:
    assert problems(VALID.replace("gpt-5: gpt-4o", "gpt-5: gpt-9")) == [
        "gw.yaml:13: aliases.gpt-5: points to unknown model 'gpt-9'"]


def test_default_model_must_exist() -> None:
    assert problems(VALID.replace("default_model: null", "default_model: nope")) == [
        "gw.yaml:15: default_model: unknown model 'nope'"]


def test_invalid_yaml_reports_its_line() -> None:
    assert problems("server:\n  port: [1,\n")[0].startswith("gw.yaml:")


def test_aliases_and_globs_resolve_to_models() -> None:
    config = parse_config(VALID, "gw.yaml", env={"UP_KEY": "k"})
    assert config.resolve_model("gpt-5").name == "gpt-4o"  # type: ignore[union-attr]
    assert config.resolve_model("gpt-4-turbo").name == "gpt-4o"  # type: ignore[union-attr]
    assert config.resolve_model("claude") is None


def test_default_model_serves_unknown_names() -> None:
    config = parse_config(VALID.replace("default_model: null", "default_model: gpt-4o"), "gw.yaml",
                          env={"UP_KEY": "k"})
    assert config.resolve_model("anything-at-all").name == "gpt-4o"  # type: ignore[union-attr]


def test_built_in_demo_config_loads_when_no_file_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "demo-echo" in load_config(None).models


def test_check_config_prints_every_problem_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(VALID.replace("- provider: up", "- provider: nope").replace("  port:", "  prot:"))
    result = subprocess.run([sys.executable, "-m", "llmswitch", "check-config", str(path)],
                            capture_output=True, text=True, env={"UP_KEY": "k", "PATH": ""}, timeout=30)
    assert result.returncode == 2
    assert f"{path}:2: server.prot: unknown key" in result.stderr
    assert f"{path}:10: models.gpt-4o[0].provider: unknown provider 'nope'" in result.stderr


def test_check_config_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(VALID)
    result = subprocess.run([sys.executable, "-m", "llmswitch", "check-config", str(path)],
                            capture_output=True, text=True, env={"UP_KEY": "k", "PATH": ""}, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_serve_refuses_to_start_on_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(VALID)
    result = subprocess.run([sys.executable, "-m", "llmswitch", "serve", "--config", str(path)],
                            capture_output=True, text=True, env={"PATH": ""}, timeout=30)
    assert result.returncode == 2
    assert "environment variable UP_KEY is not set" in result.stderr


@pytest.mark.parametrize("key, value, message", [
    ("max_upstream_body_mb", "0", "Expected float > 0.0"),
    ("max_upstream_body_mb", "lots", "Expected float, got str"),
    ("shutdown_grace_s", "-1", "Expected float >= 0.0"),
])
def test_transport_and_shutdown_limits_out_of_range_name_file_line_and_key(key: str, value: str,
                                                                          message: str) -> None:
    text = VALID.replace("server:\n", f"server:\n  {key}: {value}\n")
    assert problems(text) == [f"gw.yaml:2: server.{key}: {message}"]


def test_transport_and_shutdown_limits_have_defaults_for_a_pod() -> None:
    server = parse_config(VALID, "gw.yaml", env={"UP_KEY": "k"}).server
    assert (server.max_upstream_body_mb, server.shutdown_grace_s) == (64.0, 30.0)
