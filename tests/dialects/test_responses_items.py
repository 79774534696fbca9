"""Items as the gateway keeps them: ids and parts for listing, references resolved, reads that show
encrypted reasoning only when asked, input_items pages as OpenAI pages them."""

from __future__ import annotations

import re

import pytest

from llmswitch.dialects.responses_items import as_items, page, references, resolve_references, shown, stored_items
from llmswitch.errors import GatewayError


def test_a_string_input_is_one_user_message() -> None:
    assert as_items("hi") == [{"type": "message", "role": "user", "content": "hi"}]


def test_stored_items_get_ids_parts_and_a_status_and_keep_the_clients_ids() -> None:
    user, assistant, output = stored_items([
        {"role": "user", "content": "hi"},
        {"type": "message", "role": "assistant", "content": "hello", "id": "msg_given"},
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
    ])
    assert user["id"].startswith("msg_") and user["status"] == "completed"
    assert user["content"] == [{"type": "input_text", "text": "hi"}]
    assert assistant["id"] == "msg_given"
    assert assistant["content"] == [{"type": "output_text", "text": "hello", "annotations": []}]
    assert output["id"].startswith("fco_") and output["status"] == "completed"


def test_stored_items_share_nothing_the_request_could_change_later() -> None:
    request_item = {"role": "user", "content": [{"type": "input_text", "text": "hi"}], "extra": {"tags": ["a"]}}
    stored, = stored_items([request_item])
    request_item["content"][0]["text"] = "changed"
    request_item["extra"]["tags"].append("b")
    assert stored["content"] == [{"type": "input_text", "text": "hi"}]
    assert stored["extra"] == {"tags": ["a"]}


def test_stored_item_ids_are_the_prefix_and_32_hex_digits() -> None:
    ids = {stored_items([{"role": "user", "content": "hi"}])[0]["id"] for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"msg_[0-9a-f]{32}", item_id) for item_id in ids)


def test_a_reference_the_gateway_keeps_is_replaced_and_another_is_left_for_the_upstream() -> None:
    kept = {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
    items = [{"type": "item_reference", "id": "fc_1"}, {"type": "item_reference", "id": "fc_elsewhere"}]
    assert references(items) == ["fc_1", "fc_elsewhere"]
    resolved, unknown = resolve_references(items, {"fc_1": kept}.get)
    assert resolved == [kept, {"type": "item_reference", "id": "fc_elsewhere"}]
    assert resolved[0] is not kept and unknown == ["fc_elsewhere"]


def test_encrypted_reasoning_is_shown_only_when_include_asks_for_it() -> None:
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "token"}
    response = {"object": "response", "id": "resp_1", "output": [reasoning]}
    assert shown(response, [])["output"] == [{"id": "rs_1", "type": "reasoning", "summary": []}]
    assert shown(response, ["reasoning.encrypted_content"]) is response
    assert shown([reasoning], [])[0] == {"id": "rs_1", "type": "reasoning", "summary": []}


ITEMS = [{"id": f"item_{i}"} for i in range(5)]


def ids(listing: dict) -> list[str]:
    return [item["id"] for item in listing["data"]]


def test_input_items_are_listed_newest_first_twenty_at_a_time_by_default() -> None:
    listing = page(ITEMS, {})
    assert ids(listing) == ["item_4", "item_3", "item_2", "item_1", "item_0"]
    assert (listing["object"], listing["first_id"], listing["last_id"], listing["has_more"]) == \
        ("list", "item_4", "item_0", False)


def test_a_page_starts_after_the_item_named_and_says_when_more_follow() -> None:
    listing = page(ITEMS, {"order": "asc", "after": "item_1", "limit": "2"})
    assert ids(listing) == ["item_2", "item_3"] and listing["has_more"] is True


@pytest.mark.parametrize(("query", "param"), [({"order": "up"}, "order"), ({"limit": "0"}, "limit"),
                                              ({"limit": "x"}, "limit"), ({"after": "nope"}, "after")])
def test_a_bad_listing_parameter_is_a_400_naming_it(query: dict, param: str) -> None:
    with pytest.raises(GatewayError) as raised:
        page(ITEMS, query)
    assert (raised.value.status, raised.value.param) == (400, param)
