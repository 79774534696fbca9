"""`python -m llmswitch.fake_upstream`: the fake as a process, with every server-wide option as a flag."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from llmswitch.fake_upstream.options import FakeOptions
from llmswitch.fake_upstream.runner import run


def parser() -> argparse.ArgumentParser:
    defaults = FakeOptions()
    p = argparse.ArgumentParser(prog="python -m llmswitch.fake_upstream",
                                description="Fake OpenAI, Anthropic and Gemini upstreams for tests and demos.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001, help="0 picks a free port (printed on start)")
    p.add_argument("--name", default=defaults.name, help="sent back in the x-fake-upstream header")
    p.add_argument("--latency-ms", type=float, default=defaults.latency_ms, help="wait before the first byte")
    p.add_argument("--tokens-per-second", type=float, default=defaults.tokens_per_second,
                   help="pace stream chunks (0 = as fast as possible)")
    p.add_argument("--chunks", type=int, default=defaults.chunks, help="pieces a streamed text is split into")
    p.add_argument("--no-auth", dest="require_auth", action="store_false",
                   help="accept requests without an API key header")
    p.add_argument("--no-token-arrays", dest="token_arrays", action="store_false",
                   help="refuse token-id arrays as embeddings input, as non-OpenAI servers do")
    p.add_argument("--model", dest="models", action="append", help="a model to list (repeatable)")
    p.add_argument("--record-limit", type=int, default=defaults.record_limit,
                   help="recorded requests kept for /_fake/requests")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = vars(parser().parse_args(argv))
    if args["models"] is None:
        del args["models"]
    run(args.pop("host"), args.pop("port"), **args)


if __name__ == "__main__":
    main()
