"""The SSE decoder follows the rules real clients rely on, whatever way the bytes are split."""

from __future__ import annotations

import time

import pytest

from llmswitch.dialects.sse import SSEDecoder, SSEError, encode_data, encode_event


def decode(*chunks: bytes, max_event: int = 1 << 20) -> list[tuple[str | None, str]]:
    decoder = SSEDecoder(max_event)
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


@pytest.mark.parametrize("ending", [b"\n", b"\r", b"\r\n"])
def test_each_line_ending_split_anywhere_across_three_reads_decodes_the_same(ending: bytes) -> None:
    raw = b"event: e" + ending + b"data: a" + ending + b"data: b" + ending + ending + b"data: c" + ending + ending
    for first in range(1, len(raw)):
        for second in range(first, len(raw)):
            assert decode(raw[:first], raw[first:second], raw[second:]) == [("e", "a\nb"), (None, "c")]


def test_an_empty_read_between_cr_and_lf_keeps_them_one_line_ending() -> None:
    assert decode(b"data: a\r", b"", b"\ndata: b\r\n\r\n") == [(None, "a\nb")]


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


def test_a_50_mb_line_fed_in_64_kib_pieces_decodes_in_linear_time() -> None:
    raw = b"data: " + b"x" * (50 << 20) + b"\n\n"
    decoder = SSEDecoder(64 << 20)
    started = time.perf_counter()
    out = []
    for at in range(0, len(raw), 64 << 10):
        out += decoder.feed(raw[at:at + (64 << 10)])
    elapsed = time.perf_counter() - started
    assert [len(data) for _, data in out] == [50 << 20]
    assert elapsed < 5  # linear: ~0.2 s here; concatenating the buffer on each read took 18 s


def test_a_line_longer_than_the_bound_is_refused_before_its_end_arrives() -> None:
    decoder = SSEDecoder(max_event=1000)
    decoder.feed(b"data: " + b"x" * 900)
    with pytest.raises(match="larger than 1000 bytes"):
        decoder.feed(b"x" * 200)


def test_an_event_of_many_small_data_lines_past_the_bound_is_refused() -> None:
    with pytest.raises(match="larger than 1000 bytes"):
        decode(*[b"data: " + b"x" * 90 + b"\n"] * 12, max_event=1000)


def test_an_event_past_the_bound_in_a_single_read_is_refused() -> None:
    with pytest.raises(match="larger than 1000 bytes"):
        decode(b"data: " + b"x" * 1001 + b"\n\ndata: small\n\n", max_event=1000)


def test_events_up_to_the_bound_pass_however_many_there_are() -> None:
    frame = b"data: " + b"x" * 1000 + b"\n\n"
    assert len(decode(*[frame] * 50, max_event=1000)) == 50


def test_bytes_that_are_not_utf8_are_a_decoding_error() -> None:
    with pytest.raises(match="UTF-8"):
        decode(b"data: \xff\xfe\n\n")


def test_encoders_write_the_frame_shapes_of_each_dialect() -> None:
    assert encode_data({"a": 1}) == b'data: {"a":1}\n\n'
    assert encode_event({"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
