"""Every metered unit has its price: tokens, minutes of audio, characters of speech."""

from __future__ import annotations

import pytest

from llmswitch.config import Price, parse_config
from llmswitch.core.pricing import DEFAULT_PRICES, PriceTable, cost
from llmswitch.core.routing import Router
from llmswitch.dialects.usage import Usage
from llmswitch.providers import build_provider


def test_audio_is_priced_by_the_minute_and_speech_by_the_character() -> None:
    assert cost(DEFAULT_PRICES["whisper-1"], Usage(audio_seconds=90)) == pytest.approx(0.009)
    assert cost(DEFAULT_PRICES["tts-1"], Usage(characters=1000)) == pytest.approx(0.015)


def test_each_unit_adds_to_the_tokens() -> None:
    price = Price(input=1.0, output=2.0, audio_minute=0.5, characters=10.0)
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=500_000, audio_seconds=120, characters=100_000)
    assert cost(price, usage) == pytest.approx(1.0 + 1.0 + 1.0 + 1.0)


def test_configured_prices_name_every_unit_and_a_reservation_covers_the_dearest_of_each() -> None:
    config = parse_config("""
providers: {p: {type: openai, base_url: "http://p.invalid/v1"}}
models: {stt: [{provider: p, model: a}], tts: [{provider: p, model: b}]}
prices: {a: {audio_minute: 0.01}, b: {characters: 30}}
""")
    table = PriceTable(config)
    assert table.price("stt", "a").audio_minute == 0.01 and table.price("tts", "b").characters == 30
    router = Router(config, {"p": build_provider("p", config.providers["p"], None)})  # type: ignore[arg-type]
    worst = table.worst(router.targets["stt"] + router.targets["tts"])
    assert (worst.audio_minute, worst.characters) == (0.01, 30)
