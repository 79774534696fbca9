"""The Responses API, driven by the official openai SDK (its stream helpers included) straight at the fake."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import openai
import pydantic
import pytest

from llmswitch.fake_upstream import running_fake
from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(10)

WEATHER = {"type": "function", "name": "get_weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def call(name: str = "get_weather", **arguments) -> dict:
    return {"name": name, "arguments": arguments}


async def test_create_echoes_the_input_text(openai_client):
    reply = await openai_client.responses.create(model="gpt-x", input="hello there")
    assert reply.output_text == "You said: hello there"
    assert (reply.status, reply.object, reply.model) == ("completed", "response", "gpt-x")
    assert reply.id.startswith("resp_") and reply.output[0].id.startswith("msg_")


async def test_create_echoes_the_last_user_message_of_the_items(openai_client):
    reply = await openai_client.responses.create(model="m", instructions="be brief", input=[
        {"role": "developer", "content": "rules"}, {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "second"}, {"type": "input_image", "image_url": "data:image/png;base64,AA"},
            {"type": "input_file", "file_data": "AA", "filename": "a.pdf"}]}])
    assert reply.output_text == "You said: second"
    assert reply.instructions == "be brief"


async def test_usage_is_a_quarter_of_the_characters(openai_client):
    reply = await openai_client.responses.create(model="m", input="x" * 40)
    usage = reply.usage
    assert (usage.input_tokens, usage.output_tokens) == (10, len("You said: " + "x" * 40) // 4)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0


async def test_stream_helper_assembles_the_final_response(openai_client):
    async with openai_client.responses.stream(model="m", input=say("abc", chunks=3)) as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert deltas == ["You s", "aid:", " abc"]
    assert final.output_text == "You said: abc" and final.status == "completed"


async def test_stream_has_event_lines_and_increasing_sequence_numbers(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/responses", headers={"authorization": "Bearer x"},
                                json={"model": "m", "input": "hi", "stream": True}) as r:
            raw = await r.text()
    frames = [f.split("\n") for f in raw.strip().split("\n\n")]
    names = [f[0].removeprefix("event: ") for f in frames]
    events = [json.loads(f[1].removeprefix("data: ")) for f in frames]
    assert names == [e["type"] for e in events]
    assert names[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert names[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


async def test_tool_calls_become_function_call_items(openai_client):
    reply = await openai_client.responses.create(model="m", tools=[WEATHER], input=say(
        tool_calls=[call(city="Paris"), call(city="Rome")]))
    calls = [item for item in reply.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Paris"}),
                                                                   ("get_weather", {"city": "Rome"})]
    assert len({c.call_id for c in calls}) == 2 and all(c.status == "completed" for c in calls)
    assert [item.type for item in reply.output] == ["function_call", "function_call"]


async def test_streamed_tool_call_arguments_arrive_in_deltas(openai_client):
    async with openai_client.responses.stream(model="m", tools=[WEATHER],
                                              input=say(tool_calls=[call(city="Paris")])) as stream:
        events = [e async for e in stream]
        final = await stream.get_final_response()
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(deltas) == json.loads(done.arguments) == {"city": "Paris"}
    assert final.output[0].arguments == done.arguments


async def test_function_tools_over_two_turns(openai_client):
    first = await openai_client.responses.create(model="m", tools=[WEATHER], input=[
        {"role": "user", "content": say("weather?", tool_calls=[call(city="Paris")])}])
    fc = first.output[0]
    second = await openai_client.responses.create(model="m", tools=[WEATHER], input=[
        {"role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": fc.call_id, "name": fc.name, "arguments": fc.arguments},
        {"type": "function_call_output", "call_id": fc.call_id, "output": "sunny"}])
    assert second.output_text == "Tool results: sunny"


async def test_a_function_call_output_without_its_call_is_refused(openai_client):
    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        await openai_client.responses.create(model="m", input=[
            {"role": "user", "content": "x"}, {"type": "function_call_output", "call_id": "call_9", "output": "y"}])


async def test_call_arguments_must_be_a_string(openai_client):
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model="m", input=[
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}])
    assert caught.value.body["param"] == "input[0].arguments"


async def test_chat_style_function_tools_are_refused(openai_client):
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model="m", input="x", tools=[
            {"type": "function", "function": {"name": "f", "parameters": {}}}])
    assert caught.value.body["param"] == "tools[0].name"


@pytest.mark.parametrize(("field", "value"), [("response_format", {"type": "json_object"}),
                                              ("messages", []), ("max_tokens", 10), ("colour", "red")])
async def test_chat_only_and_unknown_parameters_are_refused(openai_client, field, value):
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model="m", input="x", extra_body={field: value})
    assert caught.value.body["param"] == field


async def test_a_part_type_the_role_cannot_carry_is_refused(openai_client):
    with pytest.raises(openai.BadRequestError, match="'output_text' and 'refusal'"):
        await openai_client.responses.create(model="m", input=[
            {"role": "assistant", "content": [{"type": "input_text", "text": "x"}]},
            {"role": "user", "content": "y"}])


async def test_tool_choice_must_name_a_given_tool(openai_client):
    with pytest.raises(openai.BadRequestError, match="not found in 'tools'"):
        await openai_client.responses.create(model="m", input="x", tools=[WEATHER],
                                             tool_choice={"type": "function", "name": "get_time"})


async def test_custom_tools_are_called_with_their_input(openai_client):
    tool = {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark",
                                                                 "definition": "start: /.+/"}}
    async with openai_client.responses.stream(model="m", tools=[tool], input=say(
            tool_calls=[{"name": "apply_patch", "arguments": {"input": "*** Begin Patch"}}])) as stream:
        events = [e.type async for e in stream]
        final = await stream.get_final_response()
    item = final.output[0]
    assert (item.type, item.name, item.input) == ("custom_tool_call", "apply_patch", "*** Begin Patch")
    assert "response.custom_tool_call_input.done" in events
    follow = await openai_client.responses.create(model="m", tools=[tool], input=[
        {"type": "custom_tool_call", "call_id": item.call_id, "name": item.name, "input": item.input},
        {"type": "custom_tool_call_output", "call_id": item.call_id, "output": "patched"}])
    assert follow.output_text == "Tool results: patched"


async def test_thinking_is_a_reasoning_item_with_summary_and_sealed_content(openai_client):
    reply = await openai_client.responses.create(model="m", input=say(thinking="let me see", text="42"),
                                                 reasoning={"effort": "low", "summary": "auto"},
                                                 include=["reasoning.encrypted_content"])
    reasoning, message = reply.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "let me see"
    assert reasoning.encrypted_content and message.content[0].text == "42"
    replay = await openai_client.responses.create(model="m", store=False, input=[
        {"role": "user", "content": "q"}, reasoning.model_dump(exclude_none=True), {"role": "user", "content": "next"}])
    assert replay.output_text == "You said: next"


async def test_reasoning_has_no_summary_or_content_unless_asked(openai_client):
    reply = await openai_client.responses.create(model="m", input=say(thinking="hidden", text="ok"))
    assert reply.output[0].summary == [] and reply.output[0].encrypted_content is None


async def test_a_reasoning_item_the_fake_did_not_issue_is_refused(openai_client):
    with pytest.raises(openai.BadRequestError, match="could not be verified"):
        await openai_client.responses.create(model="m", store=False, input=[
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "forged"},
            {"role": "user", "content": "x"}])


async def test_finish_length_is_an_incomplete_response(openai_client):
    reply = await openai_client.responses.create(model="m", input=say(finish="length"), max_output_tokens=16)
    assert reply.status == "incomplete"
    assert reply.incomplete_details.reason == "max_output_tokens"
    async with openai_client.responses.stream(model="m", input=say(finish="length")) as stream:
        last = [e async for e in stream][-1]
    assert last.type == "response.incomplete"


async def test_max_output_tokens_below_sixteen_is_refused(openai_client):
    with pytest.raises(openai.BadRequestError):
        await openai_client.responses.create(model="m", input="x", max_output_tokens=5)


async def test_structured_output_parses_into_the_model(openai_client):
    class Answer(pydantic.BaseModel):
        city: str

    reply = await openai_client.responses.parse(model="m", input=say(text='{"city": "Paris"}'), text_format=Answer)
    assert reply.output_parsed == Answer(city="Paris")
    assert reply.text.format.type == "json_schema"


async def test_retrieve_gives_back_the_stored_response(openai_client):
    made = await openai_client.responses.create(model="m", input="keep me")
    again = await openai_client.responses.retrieve(made.id)
    assert again.model_dump() == made.model_dump()


async def test_retrieve_streamed_replays_the_events_after_starting_after(openai_client):
    async with openai_client.responses.stream(model="m", input="replay") as stream:
        original = [e async for e in stream]
    response_id = original[0].response.id
    replay = [e async for e in await openai_client.responses.retrieve(response_id, stream=True, starting_after=2)]
    assert [e.sequence_number for e in replay] == [e.sequence_number for e in original[3:]]
    assert replay[-1].type == "response.completed" and replay[-1].response.output_text == "You said: replay"


async def test_store_false_keeps_nothing(openai_client):
    made = await openai_client.responses.create(model="m", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        await openai_client.responses.retrieve(made.id)


async def test_delete_removes_a_response(openai_client):
    made = await openai_client.responses.create(model="m", input="x")
    await openai_client.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError):
        await openai_client.responses.retrieve(made.id)
    with pytest.raises(openai.NotFoundError):
        await openai_client.responses.delete(made.id)


async def test_input_items_list_pages_newest_first(openai_client):
    made = await openai_client.responses.create(model="m", input=[
        {"role": "user", "content": f"m{i}"} for i in range(5)])
    first = await openai_client.responses.input_items.list(made.id, limit=2)
    texts = [i.content[0].text for i in first.data]
    assert texts == ["m4", "m3"] and first.has_more
    assert first.first_id == first.data[0].id and first.last_id == first.data[-1].id
    rest = await openai_client.responses.input_items.list(made.id, limit=10, after=first.last_id)
    assert [i.content[0].text for i in rest.data] == ["m2", "m1", "m0"] and not rest.has_more
    ascending = await openai_client.responses.input_items.list(made.id, order="asc")
    assert [i.content[0].text for i in ascending.data] == [f"m{i}" for i in range(5)]


async def test_previous_response_id_chains_three_turns(openai_client):
    one = await openai_client.responses.create(model="m", input="one")
    two = await openai_client.responses.create(model="m", input="two", previous_response_id=one.id)
    three = await openai_client.responses.create(model="m", input="three", previous_response_id=two.id)
    assert three.output_text == "You said: three" and three.previous_response_id == two.id
    items = await openai_client.responses.input_items.list(three.id, order="asc")
    assert [(i.type, i.role) for i in items.data] == [("message", "user"), ("message", "assistant")] * 2 + [
        ("message", "user")]
    assert three.usage.input_tokens > one.usage.input_tokens


async def test_a_missing_previous_response_is_a_404(openai_client):
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.responses.create(model="m", input="x", previous_response_id="resp_nope")
    assert caught.value.body["param"] == "previous_response_id"


async def test_tool_output_after_previous_response_id_finds_the_stored_call(openai_client):
    first = await openai_client.responses.create(model="m", tools=[WEATHER], input=say(tool_calls=[call(city="Oslo")]))
    second = await openai_client.responses.create(model="m", tools=[WEATHER], previous_response_id=first.id, input=[
        {"type": "function_call_output", "call_id": first.output[0].call_id, "output": "snow"}])
    assert second.output_text == "Tool results: snow"


async def test_a_background_response_can_be_cancelled_while_it_runs(openai_client):
    made = await openai_client.responses.create(model="m", input=say("slow", hang_s=5), background=True)
    assert made.status == "queued"
    cancelled = await openai_client.responses.cancel(made.id)
    assert cancelled.status == "cancelled"
    assert (await openai_client.responses.retrieve(made.id)).status == "cancelled"


async def test_a_background_response_completes_and_is_retrieved(openai_client):
    made = await openai_client.responses.create(model="m", input=say("later", hang_s=0.1), background=True)
    await asyncio.sleep(0.3)
    done = await openai_client.responses.retrieve(made.id)
    assert (done.status, done.output_text, done.background) == ("completed", "You said: later", True)


async def test_only_background_responses_can_be_cancelled(openai_client):
    made = await openai_client.responses.create(model="m", input="x")
    with pytest.raises(openai.BadRequestError):
        await openai_client.responses.cancel(made.id)


async def test_background_needs_store(openai_client):
    with pytest.raises(openai.BadRequestError):
        await openai_client.responses.create(model="m", input="x", background=True, store=False)


async def test_input_tokens_counts_the_input(openai_client):
    counted = await openai_client.responses.input_tokens.count(model="m", input="x" * 40)
    assert (counted.object, counted.input_tokens) == ("response.input_tokens", 10)
    with_history = await openai_client.responses.input_tokens.count(
        model="m", input="x" * 40, previous_response_id=(await openai_client.responses.create(
            model="m", input="y" * 40)).id)
    assert with_history.input_tokens > counted.input_tokens


async def test_compact_keeps_the_user_messages_and_one_compaction_item(openai_client):
    first = await openai_client.responses.create(model="m", input="remember this")
    compacted = await openai_client.responses.compact(model="m", previous_response_id=first.id, input="and this")
    assert compacted.object == "response.compaction"
    assert [i.type for i in compacted.output] == ["message", "message", "compaction"]
    assert [i.content[0].text for i in compacted.output[:2]] == ["remember this", "and this"]
    follow = await openai_client.responses.create(
        model="m", input=[*(i.model_dump(exclude_none=True, warnings=False) for i in compacted.output),
                          {"role": "user", "content": "go on"}])
    assert follow.output_text == "You said: go on"


async def test_a_create_ending_in_compaction_trigger_answers_one_compaction_item(openai_client):
    async with openai_client.responses.stream(model="m", input=[
            {"role": "user", "content": "remember this"}, {"type": "compaction_trigger"}]) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.compaction.compacting" in kinds
    [item] = final.output
    follow = await openai_client.responses.create(
        model="m", input=[item.model_dump(exclude_none=True, warnings=False), {"role": "user", "content": "go on"}])
    assert item.type == "compaction" and follow.output_text == "You said: go on"


async def test_status_directive_reaches_the_sdk_as_its_error(openai_client):
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.responses.create(model="m", input=say(status=429, retry_after=2))
    assert caught.value.response.headers["retry-after"] == "2"


async def test_error_after_ends_the_stream_with_error_and_failed_events(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/responses", headers={"authorization": "Bearer x"},
                                json={"model": "m", "stream": True, "input": say(error_after=3, message="boom")}) as r:
            raw = await r.text()
    events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["message"] == "boom" and events[-1]["response"]["status"] == "failed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


async def test_error_after_leaves_the_stream_helper_without_a_final_response(openai_client):
    async with openai_client.responses.stream(model="m", input=say(error_after=3)) as stream:
        types = [e.type async for e in stream]
        with pytest.raises(RuntimeError, match="response.completed"):
            await stream.get_final_response()
    assert types[-2:] == ["error", "response.failed"]


async def test_reset_mid_stream_raises_in_the_sdk(openai_client):
    with pytest.raises(openai.APIConnectionError):
        async with openai_client.responses.stream(model="m", input=say(reset_after=3)) as stream:
            async for _ in stream:
                pass


async def test_hang_longer_than_the_client_timeout_times_out(fake):
    async with openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=0, timeout=0.3) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.responses.create(model="m", input=say(hang_s=3))


async def test_stall_after_goes_silent_between_events(openai_client):
    arrivals = []
    async with openai_client.responses.stream(model="m", input=say(stall_after=2, stall_s=0.5)) as stream:
        async for _ in stream:
            arrivals.append(asyncio.get_running_loop().time())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert gaps.index(max(gaps)) == 1 and max(gaps) >= 0.45


async def test_fail_first_lets_the_sdk_retry_succeed(fake):
    async with openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=2) as client:
        reply = await client.responses.create(model="m", input=say("again", status=503, retry_after=0, fail_first=1))
    assert reply.output_text == "You said: again"
    assert fake.stats()["paths"]["/v1/responses"] == 2


async def test_responses_are_served_without_v1_and_need_a_key():
    async with running_fake() as fake, aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/responses", json={"model": "m", "input": "x"}) as r:
            assert r.status == 401
        async with session.post(fake.url + "/responses", json={"model": "m", "input": "x"},
                                headers={"authorization": "Bearer k"}) as r:
            assert (await r.json())["output"][0]["content"][0]["text"] == "You said: x"
