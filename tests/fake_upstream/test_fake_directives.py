"""Directive parsing and the dialect-neutral answer, without a server."""

from __future__ import annotations

import pytest

from llmswitch.fake_upstream.answer import Prompt, build, split
from llmswitch.fake_upstream.directives import Directive, DirectiveError, FailureCounter, parse, split_text

pytestmark = pytest.mark.timeout(5)


def test_split_text_cuts_the_directive_out():
    assert split_text('before !fake{"text": "x"} after') == ("before  after", {"text": "x"})


def test_text_without_a_directive_is_returned_unchanged():
    assert split_text("plain") == ("plain", None)


def test_split_makes_near_equal_non_empty_pieces():
    assert split("abcdefg", 3) == ["abc", "de", "fg"]
    assert split("ab", 5) == ["a", "b"]


def test_fail_first_without_a_key_keys_on_the_directive_itself():
    first, again = parse({"status": 500, "fail_first": 1}), parse({"fail_first": 1, "status": 500})
    counter = FailureCounter()
    assert counter.apply(first).status == 500
    assert counter.apply(again).status is None


def test_a_request_past_fail_first_keeps_its_answer_but_loses_its_faults():
    counter = FailureCounter()
    directive = parse({"text": "ok", "status": 503, "hang_s": 1, "fail_first": 0, "key": "k"})
    assert counter.apply(directive) == Directive(text="ok", key="k")


@pytest.mark.parametrize("raw", [{"chunks": "3"}, {"status": -1}, {"usage": {"tokens": 1}},
                                 {"tool_calls": [{"arguments": {}}]}, {"hang_s": True}])
def test_malformed_directive_values_are_refused(raw):
    with pytest.raises(DirectiveError):
        parse(raw)


def test_usage_counts_answer_and_thinking_with_reasoning_inside_completion():
    prompt = Prompt("q", [], 40, "m")
    answer = build(prompt, "q", parse({"text": "x" * 20, "thinking": "y" * 8}), 4, "call_")
    assert (answer.usage.prompt, answer.usage.completion, answer.usage.reasoning) == (10, 7, 2)


def test_tool_calls_get_ids_from_the_prefix_unless_given():
    directive = parse({"tool_calls": [{"name": "a"}, {"name": "b", "id": "given.id"}]})
    answer = build(Prompt("", [], 1, "m"), "", directive, 4, "call_7_")
    assert [c.id for c in answer.tool_calls] == ["call_7_0", "given.id"]
    assert answer.finish == "tool_calls" and answer.text == ""
