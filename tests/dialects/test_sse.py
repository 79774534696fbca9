"""The SSE decoder follows the rules real clients rely on, whatever way the bytes are split."""

from __future__ import annotations

from llmswitch.dialects.sse import SSEDecoder, encode_data, encode_event


def decode(*chunks: bytes) -> list[tuple[str | None, str]]:
    decoder = SSEDecoder()
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def test_data_frames_end_at_a_blank_line() -> None:
    assert decode(b"data: {\"a\":1}\n\ndata: [DONE]\n\n") == [(None, '{"a":1}'), (None, "[DONE]")]


def test_event_lines_name_the_frame() -> None:
    assert decode(b"event: ping\ndata: {}\n\n") == [("ping", "{}")]


def test_crlf_and_cr_line_endings_are_lines_too() -> None:
    assert decode(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n") == [(None, "a"), (None, "b"), (None, "c")]


def test_crlf_split_across_two_reads_is_one_line_ending() -> None:
    assert decode(b"data: a\r", b"\n\r\n") == [(None, "a")]


def test_comments_are_ignored() -> None:
    assert decode(b": ping\n\ndata: x\n\n") == [(None, "x")]


def test_several_data_lines_join_with_a_newline() -> None:
    assert decode(b"data: one\ndata: two\n\n") == [(None, "one\ntwo")]


def test_only_one_leading_space_is_stripped() -> None:
    assert decode(b"data:  two spaces\n\n") == [(None, " two spaces")]


def test_a_frame_split_anywhere_decodes_the_same() -> None:
    raw = b"event: message_start\ndata: {\"type\": \"message_start\"}\n\n"
    for cut in range(1, len(raw)):
        assert decode(raw[:cut], raw[cut:]) == [("message_start", '{"type": "message_start"}')]


def test_a_last_frame_without_a_blank_line_is_flushed_on_close() -> None:
    assert decode(b"data: tail") == [(None, "tail")]


def test_encoders_write_the_frame_shapes_of_each_dialect() -> None:
    assert encode_data({"a": 1}) == b'data: {"a":1}\n\n'
    assert encode_event({"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
