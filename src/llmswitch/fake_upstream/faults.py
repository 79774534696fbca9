"""Timing and failure on the wire: pacing, stalls, mid-stream errors and connection resets.

Frames are counted as whole SSE events, so `reset_after: 2` always cuts after the second event
whatever the dialect. A reset sets SO_LINGER to zero before closing so the peer gets a TCP RST,
which is what a crashed upstream or a dropped load balancer connection looks like.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass

from aiohttp import web

from llmswitch.fake_upstream.directives import Directive

# set when the fake cut the connection itself, so it is not counted as a client leaving
RESET_BY_US = web.RequestKey("fake_upstream.reset", bool)


@dataclass(frozen=True, slots=True)
class Pacing:
    delay_s: float = 0.0  # before every frame after the first
    stall_after: int | None = None
    stall_s: float = 0.0
    reset_after: int | None = None
    error_after: int | None = None

    @property
    def plain(self) -> bool:
        """Nothing to time or cut: the whole stream can go out in one write."""
        return (not self.delay_s and self.stall_after is None and self.reset_after is None
                and self.error_after is None)


def pacing_of(directive: Directive, extra_delay_s: float = 0.0) -> Pacing:
    """The directive's timing and cuts; EXTRA_DELAY_S adds to its delay between frames."""
    return Pacing(directive.delay_ms / 1000 + extra_delay_s, directive.stall_after, directive.stall_s,
                  directive.reset_after, directive.error_after)


def abort(request: web.Request) -> None:
    """Drop the connection with a TCP RST and no clean end of the HTTP message."""
    request[RESET_BY_US] = True
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, AttributeError):
            pass  # a plain close still ends the stream early
    transport.abort()


async def send(response: web.StreamResponse, request: web.Request, frames: list[bytes], pacing: Pacing,
               error_frame: bytes) -> bool:
    """Write the frames as `pacing` says; False when the connection was reset on purpose."""
    if pacing.plain:
        await response.write(b"".join(frames))
        return True
    for index, frame in enumerate(frames):
        if index == pacing.reset_after:
            abort(request)
            return False
        if index == pacing.error_after:
            await response.write(error_frame)
            return True
        if index == pacing.stall_after:
            await asyncio.sleep(pacing.stall_s)
        elif index and pacing.delay_s:
            await asyncio.sleep(pacing.delay_s)
        await response.write(frame)
    if pacing.error_after is not None:  # past the last frame: a Gemini stream has no terminator to stand in for
        await response.write(error_frame)
    return True
