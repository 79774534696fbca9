"""Configured keys and headers must be sendable in an HTTP header: a control character in one is a
config error naming file:line:key, and the value (a secret) is never quoted."""

from __future__ import annotations

import pytest

from llmswitch.config import ConfigError, parse_config

CONFIG = """\
providers:
  up:
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_keys: ["good-key-0001", "${UP_KEY}"]
    headers: {x-team: "${TEAM}"}
models:
  m: [{provider: up}]
"""


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(CONFIG, "gw.yaml", env=env)
    return [str(p) for p in excinfo.value.problems]


@pytest.mark.parametrize("key, code, position", [("sk-abc\x00def", "0000", 6), ("sk-abcdef\n", "000A", 9),
                                                 ("sk-a\r\nX-Evil: 1", "000D", 4), ("sk-\x7f", "007F", 3)])
def test_a_configured_key_with_a_control_character_is_refused(key: str, code: str, position: int) -> None:
    assert problems({"UP_KEY": key, "TEAM": "t"}) == [
        f"gw.yaml:5: providers.up.api_keys[1]: holds a character that cannot be sent in an HTTP header "
        f"(U+{code} at position {position})"]


def test_a_configured_header_with_a_line_break_is_refused() -> None:
    assert problems({"UP_KEY": "k", "TEAM": "a\r\nb"}) == [
        "gw.yaml:6: providers.up.headers.x-team: holds a character that cannot be sent in an HTTP header "
        "(U+000D at position 1)"]


def test_the_refused_key_is_not_quoted_in_the_error() -> None:
    assert not any("secret-part" in p for p in problems({"UP_KEY": "secret-part\x00", "TEAM": "t"}))


def test_printable_keys_and_headers_load() -> None:
    config = parse_config(CONFIG, "gw.yaml", env={"UP_KEY": "sk-ok_0002.x", "TEAM": "team a"})
    assert config.providers["up"].api_keys == ["good-key-0001", "sk-ok_0002.x"]
