"""Faithful fake LLM upstreams (OpenAI, Anthropic, Gemini) for tests, the demo and the benchmark.

One aiohttp server speaks three dialects at the URLs the gateway's providers call:
`POST /v1/chat/completions` (and `/chat/completions`), `POST /v1/messages`,
`POST /v1/messages/count_tokens`, `POST /v1beta/models/{model}:generateContent` and
`:streamGenerateContent?alt=sse`, plus `GET /v1/models` and `GET /v1beta/models`. Each checks
requests the way the real service does, so a bad translation fails a test instead of passing.
Beyond chat, one module per operation family (each docstring says what it answers):
  embeddings.py   `POST /v1/embeddings`, Gemini `:embedContent` and `:batchEmbedContents`
  audio.py        `POST /v1/audio/transcriptions`, `/translations` (multipart, streamed), `/speech`
  responses_server.py, responses.py   `POST /v1/responses` and its sub-operations (retrieve,
                  delete, cancel, input_items, input_tokens, compact) over an in-memory store
These are served without the `/v1` prefix too, and take directives from the `x-fake` header and
the text each carries (first embedding input, transcription `prompt`, speech `input`, last user
input item), with the faults below (handling.py applies the ones before the first byte).

By default the answer echoes: "You said: <text of the last user message>" (or "Tool results: ..."
when the last turn carries tool results), split into `chunks` stream pieces, with usage estimated
as characters / 4 (at least 1) from the input text and the answer. OpenAI system and developer
messages after the last turn are instructions, not a turn: they leave the echo and directive alone.

Directives. A test steers one answer with `!fake{...JSON...}` inside the last user message's text
(it survives translation through the gateway; it is cut out of the echo), or the same JSON in an
`x-fake` request header (the text's keys win over the header's). Keys:
  text         answer text instead of the echo ("" allowed)
  tool_calls   [{"name", "arguments": {...}, "id"?}]: parallel calls, in order; with no `text`
               the answer has no text. `arguments` {} tests a no-argument call.
  thinking     thinking text: OpenAI `reasoning_content`, Anthropic thinking block with a signature,
               Gemini `thought` parts (the first call or answer part gets a `thoughtSignature`)
  finish       finish reason in OpenAI terms (stop, length, tool_calls, content_filter), mapped to
               each dialect; any other value is sent as is (e.g. "pause_turn", "RECITATION")
  usage        {"prompt", "completion", "cached", "reasoning", "cache_write"}: prompt includes cached
               (cache reads) and cache_write, completion includes reasoning; each dialect splits
               them its own way (Gemini reports no cache writes)
  chunks       pieces to split text and thinking into when streaming
  blank_frames open the stream with this many frames that carry nothing a client shows, after the
               dialect's own opening (OpenAI: chunks with an empty delta after the role chunk;
               Anthropic: pings after message_start; Gemini: chunks with no parts, then an empty
               text part, alternately)
  status, message   answer with this HTTP error in the dialect's error shape (529 = overloaded)
  retry_after  seconds, sent as the Retry-After header
  hang_s       wait this long before sending any header
  delay_ms     wait between stream frames
  stall_after, stall_s   after this many stream frames go silent stall_s seconds (default 60)
  reset_after  after this many stream frames drop the connection with a TCP RST (no clean end);
               on a non-stream request, drop it instead of answering
  error_after  after this many stream frames (0: before any) answer the rest with the dialect's
               in-stream error frame (with `status`, default 500, and `message`) and end the stream;
               past the last frame, after it
  fail_first, key   only the first N requests with the same `key` get the faults above; later
               ones get the plain answer (key defaults to the directive's own JSON)
Frames are whole SSE events, counted from the first: an Anthropic text answer opens with
message_start, content_block_start (empty text) and ping, so `stall_after: 3` goes silent right
after them, before the first delta.

Server-wide options (`FakeOptions`, the CLI flags): name (sent back in `x-fake-upstream`),
latency_ms, tokens_per_second, chunks, require_auth, models, record_limit (also the number of
stored responses), token_arrays (`--no-token-arrays`: embeddings refuse token-id input).

For tests: `GET /_fake/requests` (recent requests: method, path, query, lower-cased headers,
parsed JSON body; for an upload its form fields and the file's name, type, size and sha256),
`DELETE /_fake/requests`, `GET /_fake/stats` (total, per-path counts,
in_flight, disconnects). In-process: `async with running_fake(**options) as fake` gives
`fake.url`, `.requests()`, `.clear()`, `.stats()`; as a process: `start_process(port, **options)`.
"""

from llmswitch.fake_upstream.options import FakeOptions
from llmswitch.fake_upstream.runner import FakeProcess, RunningFake, run, running_fake, start_process
from llmswitch.fake_upstream.server import build_app

__all__ = ["FakeOptions", "FakeProcess", "RunningFake", "build_app", "run", "running_fake", "start_process"]
