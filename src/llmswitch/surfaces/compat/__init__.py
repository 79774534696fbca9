"""The body-keyed routes of the proxies llmswitch replaces, so that their clients move over without
a code change: the gateway key travels in the body (`security_key`), beside fields of their own
(see `keyed`), at paths of their own, outside `/v1`. Each route is a thin adapter over the surface
of its operation: the same validation, the same pipeline, the same answer, in OpenAI's error shape.

  POST /openai                        chat (Chat Completions body; `image`; no streaming)   chat.py
  POST /chatgpt                       a prompt in, the reply text out                       chat.py
  POST /embeddings                    embeddings                                            embeddings.py
  POST /openai/audio/transcriptions   a transcription (multipart; the key a form field)     audio.py
  /openai2 and below                  the Responses API (the key in a GET's query)          responses.py
"""

from __future__ import annotations

from llmswitch.surfaces.compat import responses
from llmswitch.surfaces.compat.audio import transcriptions
from llmswitch.surfaces.compat.chat import chatgpt, openai_chat
from llmswitch.surfaces.compat.embeddings import embeddings
from llmswitch.surfaces.wire import AUDIO, KEYED_RESPONSES, OPENAI

ROUTES = (
    ("POST", "/openai", openai_chat, OPENAI),
    ("POST", "/chatgpt", chatgpt, OPENAI),
    ("POST", "/embeddings", embeddings, OPENAI),
    ("POST", "/openai/audio/transcriptions", transcriptions, AUDIO),
    ("POST", "/openai2", responses.create, KEYED_RESPONSES),
    ("POST", "/openai2/compact", responses.compact, KEYED_RESPONSES),
    ("POST", "/openai2/input_tokens", responses.input_tokens, KEYED_RESPONSES),
    ("GET", "/openai2/{response_id}", responses.retrieve, KEYED_RESPONSES),
    ("DELETE", "/openai2/{response_id}", responses.delete, KEYED_RESPONSES),
    ("GET", "/openai2/{response_id}/input_items", responses.input_items, KEYED_RESPONSES),
    ("POST", "/openai2/{response_id}/cancel", responses.cancel, KEYED_RESPONSES),
)
