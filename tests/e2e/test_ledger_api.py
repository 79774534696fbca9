"""The ledger's queries through a real gateway on SQLite and PostgreSQL: `GET /admin/api/usage` sums what
`GET /admin/api/requests` lists, for every grouping and filter; pages walk every record once, newest
first; bad parameters get a 400 naming them; `llmswitch usage` prints the same numbers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.ledger_fixtures import ADMIN, MASTER, admin, all_records, ledger_gateway
from tests.support.fake import fake_directive
from tests.support.processes import Process, start_gateway

SUMMED = ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens")
GROUP_OF = {"model": lambda r: r["model"], "key": lambda r: r["key_id"], "provider": lambda r: r["provider"],
            "hour": lambda r: int(r["at"] // 3600) * 3600, "day": lambda r: int(r["at"] // 86400) * 86400}


@dataclass
class Ledger:
    gateway: Process
    config: Path
    key_id: str
    sent: list[str]  # the request ids this module sent


def post(gateway: Process, path: str, body: dict[str, Any], key: str, request_id: str = "") -> int:
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json",
               **({"x-request-id": request_id} if request_id else {})}
    request = urllib.request.Request(gateway.url + path, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A gateway that served 24 requests: two keys (the master and a virtual key), three models, chat and
    embeddings, some refused."""
    directory = tmp_path_factory.mktemp("ledger-api")
    with ledger_gateway(request.param, directory) as gateway:
        settings = yaml.safe_load((Path(gateway.log_path).parent / "llmswitch.yaml").read_text())
        config = directory / "llmswitch.yaml"
        config.write_text(yaml.safe_dump(settings))
        created = urllib.request.Request(f"{gateway.url}/admin/api/keys", json.dumps({"name": "team"}).encode(),
                                         {**ADMIN, "content-type": "application/json"})
        with urllib.request.urlopen(created, timeout=10) as response:
            key = json.loads(response.read())
        sent = []
        for i in range(24):
            request_id = f"req-{uuid.uuid4().hex[:12]}"
            model = ("via-openai", "via-anthropic", "via-gemini")[i % 3]
            fault = fake_directive(status=400) if i % 7 == 3 else ""  # refused, not counted against the target
            directive = fake_directive(usage={"prompt": 100 + i, "completion": 10 + i, "cached": i})
            body = {"model": model, "messages": [{"role": "user", "content": f"q{i} {fault or directive}"}]}
            if i % 8 == 5:
                body = {"model": "via-openai", "input": f"embed {i}"}
            path = "/v1/embeddings" if "input" in body else "/v1/chat/completions"
            post(gateway, path, body, key["key"] if i % 2 else MASTER, request_id)
            sent.append(request_id)
        yield Ledger(gateway, config, key["id"], sent)


def expected(records: list[dict[str, Any]], group: str) -> dict[Any, dict[str, Any]]:
    sums: dict[Any, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(("requests", "errors", *SUMMED, "cost_usd"), 0))
    for r in records:
        into = sums[GROUP_OF[group](r)]
        into["requests"] += 1
        into["errors"] += r["status"] >= 400
        for name in (*SUMMED, "cost_usd"):
            into[name] += r[name]
    return sums


def key_of(group: str, value: Any) -> Any:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if group in ("hour", "day") else value


def test_every_request_is_listed_once_newest_first(ledger: Ledger) -> None:
    records = all_records(ledger.gateway)
    ids = [r["request_id"] for r in records]
    assert sorted(ids) == sorted(ledger.sent)
    starts = [r["at"] for r in records]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize("group", ["hour", "day", "model", "key", "provider"])
def test_usage_grouped_sums_the_records_it_covers(ledger: Ledger, group: str) -> None:
    records = all_records(ledger.gateway)
    answer = admin(ledger.gateway, "usage", group_by=group).body
    want = expected(records, group)
    got = {g["key"]: g for g in answer["groups"]}
    assert sorted(got, key=str) == sorted((key_of(group, value) for value in want), key=str)
    for value, sums in want.items():
        group_row = got[key_of(group, value)]
        assert {name: group_row[name] for name in sums if name != "cost_usd"} == {
            name: v for name, v in sums.items() if name != "cost_usd"}
        assert group_row["cost_usd"] == pytest.approx(sums["cost_usd"])
    totals = answer["totals"]
    assert totals["requests"] == len(records) == 24
    assert totals["errors"] == sum(r["status"] >= 400 for r in records) > 0
    assert totals["input_tokens"] == sum(r["input_tokens"] for r in records)
    latencies = sorted(r["latency_ms"] for r in records)
    assert latencies[0] <= totals["latency_p50_ms"] <= latencies[-1] * 1.7  # estimated within its bucket


@pytest.mark.parametrize(("params", "kept"), [
    ({"model": "via-gemini"}, lambda r: r["model"] == "via-gemini"),
    ({"provider": "p-anthropic"}, lambda r: r["provider"] == "p-anthropic"),
    ({"operation": "embeddings"}, lambda r: r["operation"] == "embeddings"),
], ids=["model", "provider", "operation"])
def test_filters_narrow_both_the_sums_and_the_list(ledger: Ledger, params: dict[str, str], kept: Any) -> None:
    everything = all_records(ledger.gateway)
    listed = all_records(ledger.gateway, **params)
    assert listed and sorted(r["request_id"] for r in listed) == sorted(r["request_id"] for r in everything if kept(r))
    totals = admin(ledger.gateway, "usage", **params).body["totals"]
    assert (totals["requests"], totals["input_tokens"]) == (len(listed), sum(r["input_tokens"] for r in listed))


def test_a_keys_filter_keeps_that_keys_requests(ledger: Ledger) -> None:
    listed = all_records(ledger.gateway, key=ledger.key_id)
    assert len(listed) == 12 and {r["key_id"] for r in listed} == {ledger.key_id}
    assert admin(ledger.gateway, "usage", key=ledger.key_id, group_by="key").body["groups"][0]["key"] == ledger.key_id


def test_a_status_filter_lists_the_failed_requests(ledger: Ledger) -> None:
    failed = all_records(ledger.gateway, status="error")
    assert len(failed) == 3 and {(r["status"], r["error"]) for r in failed} == {(400, "invalid_request")}
    assert [r["request_id"] for r in all_records(ledger.gateway, status="4xx")] == [r["request_id"] for r in failed]
    assert all_records(ledger.gateway, status="success") == [r for r in all_records(ledger.gateway)
                                                             if r["status"] < 400]


def test_a_time_range_keeps_the_requests_started_in_it(ledger: Ledger) -> None:
    records = all_records(ledger.gateway)
    starts = sorted(r["at"] for r in records)
    middle = (starts[11] + starts[12]) / 2  # between two requests (milliseconds apart): no rounding matters
    later = all_records(ledger.gateway, **{"from": middle})
    assert sorted(r["request_id"] for r in later) == sorted(r["request_id"] for r in records if r["at"] >= middle)
    assert len(later) == 12
    iso = datetime.fromtimestamp(middle, UTC).isoformat()
    assert admin(ledger.gateway, "usage", to=iso).body["totals"]["requests"] == 12


def test_pages_have_a_cursor_until_the_last(ledger: Ledger) -> None:
    first = admin(ledger.gateway, "requests", limit=10).body
    assert len(first["data"]) == 10 and first["has_more"] and first["next_cursor"]
    second = admin(ledger.gateway, "requests", limit=20, cursor=first["next_cursor"]).body
    assert len(second["data"]) == 14 and not second["has_more"] and second["next_cursor"] is None
    assert not {r["request_id"] for r in first["data"]} & {r["request_id"] for r in second["data"]}


@pytest.mark.parametrize(("path", "params", "param"), [
    ("usage", {"group_by": "week"}, "group_by"),
    ("usage", {"from": "yesterday"}, "from"),
    ("usage", {"to": "1e300"}, "to"),
    ("usage", {"from": "2000", "to": "1000"}, "from"),
    ("usage", {"modle": "x"}, "modle"),
    ("usage", {"fields": "requests,latency_p99_ms"}, "fields"),
    ("requests", {"limit": "0"}, "limit"),
    ("requests", {"limit": "many"}, "limit"),
    ("requests", {"status": "bad"}, "status"),
    ("requests", {"cursor": "not-a-cursor"}, "cursor"),
], ids=lambda value: str(value))
def test_a_bad_query_parameter_is_a_400_naming_it(ledger: Ledger, path: str, params: dict[str, str],
                                                  param: str) -> None:
    reply = admin(ledger.gateway, path, **params)
    assert reply.status == 400
    assert reply.body["error"]["param"] == param and reply.body["error"]["type"] == "invalid_request_error"


def test_an_unknown_request_id_is_a_404(ledger: Ledger) -> None:
    reply = admin(ledger.gateway, "requests/req-never-sent")
    assert reply.status == 404 and reply.body["error"]["code"] == "request_not_found"


def test_the_ledger_routes_need_the_master_key(ledger: Ledger) -> None:
    request = urllib.request.Request(f"{ledger.gateway.url}/admin/api/usage")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_the_openapi_document_describes_the_ledger_routes(ledger: Ledger) -> None:
    paths = admin(ledger.gateway, "openapi.json").body["paths"]
    usage = paths["/admin/api/usage"]["get"]
    assert {p["name"] for p in usage["parameters"]} == {"from", "to", "key", "model", "provider", "operation",
                                                       "group_by", "fields"}
    assert "latency_p95_ms" in usage["responses"]["200"]["content"]["application/json"]["schema"][
        "properties"]["totals"]["properties"]
    assert "status" in {p["name"] for p in paths["/admin/api/requests"]["get"]["parameters"]}
    record = paths["/admin/api/requests/{request_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert {"cache_write_tokens", "ttft_ms", "client_ip"} <= set(record["schema"]["properties"])


def test_the_cli_prints_the_same_totals_as_the_api(ledger: Ledger) -> None:
    totals = admin(ledger.gateway, "usage", group_by="model").body["totals"]
    shown = subprocess.run([sys.executable, "-m", "llmswitch", "usage", "--config", str(ledger.config),
                            "--group-by", "model", "--json"], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(shown.stdout)["totals"] == totals
    table = subprocess.run([sys.executable, "-m", "llmswitch", "usage", "--config", str(ledger.config),
                            "--group-by", "model"], capture_output=True, text=True, timeout=60, check=True).stdout
    total_line = table.splitlines()[-1].split()
    assert total_line[:4] == ["TOTAL", str(totals["requests"]), str(totals["errors"]), str(totals["input_tokens"])]
    assert {"via-openai", "via-anthropic", "via-gemini"} <= {line.split()[0] for line in table.splitlines()[1:-1]}


def test_the_cli_names_the_option_that_is_wrong(ledger: Ledger) -> None:
    shown = subprocess.run([sys.executable, "-m", "llmswitch", "usage", "--config", str(ledger.config),
                            "--from", "someday"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 2 and shown.stderr.startswith("--from:")


# --- other modes -------------------------------------------------------------------------------------------
def test_open_mode_records_requests_without_a_key(tmp_path: Path) -> None:
    config = {"database_url": f"sqlite:///{tmp_path}/open.db",
              "providers": {"demo": {"type": "demo"}}, "models": {"m": [{"provider": "demo"}]}}
    (tmp_path / "llmswitch.yaml").write_text(yaml.safe_dump(config))
    with start_gateway(config) as gateway:
        for _ in range(3):
            assert post(gateway, "/v1/chat/completions", {"model": "m", "messages": [
                {"role": "user", "content": "hi"}]}, "anything") == 200
    shown = subprocess.run([sys.executable, "-m", "llmswitch", "usage", "--config", str(tmp_path / "llmswitch.yaml"),
                            "--group-by", "key", "--json"], capture_output=True, text=True, timeout=60, check=True)
    groups = json.loads(shown.stdout)["groups"]
    assert [(g["key"], g["requests"]) for g in groups] == [(None, 3)]


def test_with_usage_disabled_nothing_is_recorded_and_the_api_says_so(tmp_path: Path) -> None:
    config = {"usage": {"enabled": False}, "auth": {"master_key": MASTER, "secret": "s"},
              "database_url": f"sqlite:///{tmp_path}/off.db",
              "providers": {"demo": {"type": "demo"}}, "models": {"m": [{"provider": "demo"}]}}
    with start_gateway(config) as gateway:
        assert post(gateway, "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": "hi"}]}, MASTER) == 200
        reply = admin(gateway, "usage")
    assert reply.status == 404 and reply.body["error"]["code"] == "usage_disabled"
    with sqlite3.connect(tmp_path / "off.db") as database:
        assert database.execute("SELECT count(*) FROM usage_records").fetchone() == (0,)
