"""The HTTP side of the gateway (aiohttp): middleware, request context, answers written whole or streamed.

The core knows no HTTP; surfaces read requests and, through `web.respond`, write what the core answers.
"""
