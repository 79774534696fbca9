"""Images across the matrix: base64 and URL images reach each provider in its own form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.matrix_fixtures import (
    Matrix,
    marker,
    matrix_cases,
    model,
    running_matrix,
    streaming,
)


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PHOTO_URL = "https://example.com/photos/cat.png"


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with running_matrix() as running:
        yield running


def image_turn(client: str, text: str, *, url: str | None = None) -> list[dict[str, Any]]:
    """A user turn with TEXT and one image: the PNG as base64, or URL when given."""
    if client == "openai":
        image = {"type": "image_url", "image_url": {"url": url or f"data:image/png;base64,{PNG}"}}
    else:
        source = {"type": "url", "url": url} if url else {"type": "base64", "media_type": "image/png", "data": PNG}
        image = {"type": "image", "source": source}
    return [{"role": "user", "content": [{"type": "text", "text": text}, image]}]


def images_sent(provider: str, body: dict[str, Any]) -> list[Any]:
    """The image parts of the last user turn as the upstream of PROVIDER type received them."""
    if provider == "openai":
        return [p["image_url"] for p in body["messages"][-1]["content"] if p["type"] == "image_url"]
    if provider == "anthropic":
        return [b["source"] for b in body["messages"][-1]["content"] if b["type"] == "image"]
    return [p.get("inlineData") or p.get("fileData") for p in body["contents"][-1]["parts"] if "text" not in p]


BASE64_SENT = {
    "openai": {"url": f"data:image/png;base64,{PNG}"},
    "anthropic": {"type": "base64", "media_type": "image/png", "data": PNG},
    "gemini": {"mimeType": "image/png", "data": PNG},
}
URL_SENT = {
    "openai": {"url": PHOTO_URL},
    "anthropic": {"type": "url", "url": PHOTO_URL},
    "gemini": {"mimeType": "image/png", "fileUri": PHOTO_URL},
}


@matrix_cases
@streaming
def test_base64_image_reaches_the_upstream_in_its_dialect(matrix: Matrix, client: str, provider: str,
                                                          stream: bool) -> None:
    tag = marker()
    answer = matrix.ask(client, model(provider), stream, messages=image_turn(client, f"what is this? {tag}"))
    assert answer.text == f"You said: what is this? {tag}"
    assert images_sent(provider, matrix.sent(tag)["body"]) == [BASE64_SENT[provider]]


@matrix_cases
def test_url_image_reaches_the_upstream_as_a_url(matrix: Matrix, client: str, provider: str) -> None:
    tag = marker()
    matrix.ask(client, model(provider), False, messages=image_turn(client, tag, url=PHOTO_URL))
    assert images_sent(provider, matrix.sent(tag)["body"]) == [URL_SENT[provider]]
