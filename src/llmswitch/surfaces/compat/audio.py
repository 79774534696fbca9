"""`POST /openai/audio/transcriptions`: transcriptions for clients of the proxies we replace.

The multipart form of OpenAI's transcriptions (`file`, `model`, `language`, `prompt`,
`response_format`, `temperature`, `timestamp_granularities[]`...) with the compat fields as form
fields (`surfaces.compat.keyed`, read from the form, taken out of it). Without a `model` it asks for
`whisper-1`, the name those proxies used. Those clients put `security_key` anywhere in the form,
after the file too (`curl -F file=@a.mp3 -F security_key=...`), and nothing may go upstream before
the key is checked: the form is read whole, its file spooled to disk (up to `server.max_body_mb`),
before the request is routed. It is then served as `/v1/audio/transcriptions` serves it.
"""

from __future__ import annotations

from aiohttp import web

from llmswitch.core.operations import TRANSCRIPTION
from llmswitch.surfaces.audio import serve_form
from llmswitch.surfaces.compat.keyed import COMPAT_FIELDS, admit
from llmswitch.surfaces.form import read_form
from llmswitch.web.context import GATEWAY

DEFAULT_MODEL = "whisper-1"


async def transcriptions(request: web.Request) -> web.StreamResponse:
    server = request.app[GATEWAY].config.server
    form = await read_form(request, int(server.max_body_mb * (1 << 20)), server.body_timeout_s, whole=True)
    try:
        compat = {}
        for name, value in form.fields:
            if name in COMPAT_FIELDS:
                compat.setdefault(name, value)
        form.fields = [(name, value) for name, value in form.fields if name not in COMPAT_FIELDS]
        keyed = await admit(request, compat, "form")
        if form.value("model") is None:
            form.fields.append(("model", DEFAULT_MODEL))
        return await serve_form(request, TRANSCRIPTION, form, adjust=keyed.apply)
    finally:
        form.close()
