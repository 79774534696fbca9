"""Local token estimates: prompts of either dialect, and the output a cut stream had produced."""

from __future__ import annotations

from llmswitch.dialects.estimate import estimate_input_tokens, output_bytes

PNG = "iVBORw0KGgo=" * 10_000


def test_input_tokens_are_estimated_from_the_text_at_four_characters_a_token() -> None:
    body = {"model": "m", "max_tokens": 1, "system": "s" * 40,
            "messages": [{"role": "user", "content": "x" * 400}]}
    assert 110 <= estimate_input_tokens(body) <= 115


def test_an_openai_prompt_counts_its_parts_and_tool_definitions() -> None:
    body = {"model": "m", "messages": [
        {"role": "system", "content": "s" * 400},
        {"role": "user", "content": [{"type": "text", "text": "x" * 400}]}],
        "tools": [{"type": "function", "function": {"name": "f", "description": "d" * 400}}]}
    assert 300 <= estimate_input_tokens(body) <= 320


def test_images_and_other_binary_payloads_are_not_counted_as_text() -> None:
    body = {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}}]}]}
    assert estimate_input_tokens(body) < 50


def test_non_ascii_text_counts_its_utf8_bytes() -> None:
    assert estimate_input_tokens({"messages": [{"role": "user", "content": "日本語" * 100}]}) >= 225


def test_fields_outside_the_prompt_are_not_read() -> None:
    assert estimate_input_tokens({"model": "x" * 4000, "metadata": {"user_id": "u" * 4000}}) == 1


def test_the_output_of_openai_chunks_is_their_text_reasoning_and_tool_arguments() -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": "x" * 40}}]},
              {"choices": [{"index": 0, "delta": {"reasoning_content": "r" * 40}}]},
              {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "a" * 40}}]}}]},
              {"choices": [], "usage": {"prompt_tokens": 1}}]
    assert output_bytes("openai", chunks) == 120


def test_the_output_of_anthropic_events_is_their_deltas() -> None:
    events = [{"type": "message_start", "message": {"content": []}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x" * 40}},
              {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta",
                                                                    "partial_json": "j" * 40}}]
    assert output_bytes("anthropic", events) == 80


def test_upstream_events_of_the_wrong_shape_count_nothing() -> None:
    assert output_bytes("openai", [{"choices": "x"}, {"choices": ["x", {"delta": "y"}]}]) == 0
    assert output_bytes("anthropic", [{"type": "content_block_delta", "delta": ["x"]}]) == 0
