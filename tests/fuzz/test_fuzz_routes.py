"""The read-only routes (models, key, health) under hostile paths, methods, queries and credentials."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import fuzz_settings
from tests.fuzz.gateways import Target
from tests.fuzz.tally import observe
from tests.fuzz.verdict import check
from tests.fuzz.wire import request

ROUTES = {  # path -> route kind (what a 2xx must be)
    "/v1/models": "models", "/api/v1/models": "models", "/api/v1/chat/models": "models",
    "/v1/key": "key", "/api/v1/key": "key", "/health": "health", "/health/ready": "ready",
}
METHODS = ["GET"] * 8 + ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]  # unknown ones: test_fuzz_wire
ODD_IDS = ["%2F", "%252F", "%zz", "%ff%fe", "%00", "..%2F..%2Fadmin", "a" * 3000, "%E2%80%AE", "m-openai%2Fx",
           "org%2Fslashed-model", "org/slashed-model", "m-openai/", "%", "?", "#"]


def _model_path(data: st.DataObject, target: Target) -> str:
    prefix = data.draw(st.sampled_from(["/v1", "/api/v1"]), label="prefix")
    name = data.draw(st.sampled_from(target.models) | st.sampled_from(ODD_IDS) | st.text(min_size=1, max_size=20).map(
        lambda text: quote(text, safe="")), label="model id")
    return f"{prefix}/models/{name}"


@fuzz_settings(300)
@given(data=st.data())
def test_read_only_routes_answer_every_request_in_their_dialect(targets: dict[str, Target],
                                                                data: st.DataObject) -> None:
    target = targets[data.draw(st.sampled_from(sorted(targets)), label="gateway")]
    if data.draw(st.booleans(), label="model by id"):
        path, route, label = _model_path(data, target), "model", "{prefix}/models/{id}"
    else:
        path = data.draw(st.sampled_from(sorted(ROUTES)), label="path")
        route, label = ROUTES[path], path
    query = data.draw(st.sampled_from(["", "?", "?a=1", "?include_revoked=true", "?%ff=%fe", "?a=" + "b" * 2000]))
    method = data.draw(st.sampled_from(METHODS), label="method")
    headers = dict(target.credentials[data.draw(st.sampled_from(sorted(target.credentials)), label="credential")])
    if label.startswith("{prefix}"):
        label = path.split("/models/")[0] + "/models/{id}"
    full = path + query
    # A method the route does not serve is an error: only a GET may be judged as the route's 2xx.
    # A method the route does not serve is an error: only a GET may be judged as the route's 2xx,
    # and a HEAD answer has no body to judge.
    kind = {"GET": route, "HEAD": "head"}.get(method, "none")
    observe(f"{method if method == 'GET' else 'other'} {label}",
            lambda: request(target.base, method, full, headers=headers), lambda answer: check(answer, kind, full))
