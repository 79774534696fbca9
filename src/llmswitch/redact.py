"""Scrubbing credentials out of text the gateway did not write (an upstream's error) before it is
shown to a client, written to a log or kept in a record.

Two nets, because either alone lets keys through:
- by value: every credential the gateway holds (`SECRETS`: configured provider keys and auth
  headers, the master key, the server secret, keys stored through the admin API) and the key an
  attempt sent (which, in passthrough mode, is the client's own). This catches a key of any shape.
- by shape: provider key prefixes (`sk-`, `sk-ant-`, `AIza`...), JWTs, bearer and basic tokens,
  credential parameters in URLs (`?key=`), labelled values (`x-api-key: ...`) and long random-looking
  tokens. This catches keys the gateway never held, such as one the upstream quotes from elsewhere.

Ordinary words survive: a shape needs digits or symbols in it (so "Bearer authentication" stays),
and a held credential shorter than `MIN_HELD` is not matched by value (a key "test" would otherwise
erase the word everywhere; keys that short are not worth protecting from the text they echo).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from llmswitch.config import Config

REDACTED = "[redacted]"
MIN_HELD = 8
MAX_NAMES = 4096  # names kept scrubbed (`Secrets.scrub_name`); past it they are scrubbed afresh

_VALUE = r"[A-Za-z0-9._~+/=\-]*[A-Za-z0-9_~+/=\-]"  # a token; a sentence's full stop after it is not part of it
# Known key formats: OpenAI and most OpenAI-compatible vendors (sk-, sk-proj-, sk-ant- of Anthropic),
# Groq (gsk_), xAI, Hugging Face, Replicate, Perplexity, NVIDIA, Google API keys and OAuth tokens, JWTs.
# `*` is allowed inside so that a half-masked echo ("sk-proj-****abcd") goes too.
_KNOWN = (r"(?<![A-Za-z0-9])(?:sk|gsk|xai|hf|r8|pplx|nvapi)[-_][A-Za-z0-9_*\-]{8,}"
          r"|AIza[0-9A-Za-z_\-]{20,}|ya29\.[0-9A-Za-z_\-.]{10,}"
          r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")
# A scheme or label followed by its value: the label stays, the value goes if it looks like a token.
# Schemes go first, so that in "Authorization: Bearer <token>" the token is what is judged.
_SCHEME = r"(?i)(\b(?:bearer|basic)\s+)(" + _VALUE + ")"
_LABELLED = (r"(?i)([?&;](?:key|api[_-]?key|apikey|access_token|token|secret|password|x-goog-api-key|x-api-key)="
             r"|\b(?:x-api-key|x-goog-api-key|api[_-]?key|access[_-]?token|secret|password|authorization)"
             r"[\"']?\s*[:=]\s*[\"']?)(" + _VALUE + ")")
_LABEL_WORDS = ("key", "token", "secret", "password", "authorization")  # one is in every label above
_LONG = r"(?<![A-Za-z0-9_\-])[A-Za-z0-9][A-Za-z0-9_\-]{31,}"
_KNOWN_RE = re.compile(_KNOWN)
_LONG_RE = re.compile(_LONG)
_SCHEMES = re.compile(_SCHEME)
_LABELS = re.compile(_LABELLED)
_URL_PARAM = re.compile(r"[?&;]")
# Configured upstream headers whose values are credentials (Azure's `api-key`, a custom `Authorization`...).
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|key|token|secret|password|cookie|signature")


def _tokenish(value: str) -> bool:
    """A value after a label is a token, not a word, when it is long and has a digit or a symbol in it."""
    return len(value) >= MIN_HELD and any(c.isdigit() or c in "._~+/=-" for c in value)


def _random_looking(token: str) -> bool:
    """A long run that mixes cases and digits (or is long hex) is a key, not a name: model ids,
    snake_case codes and words are single-case or have no digits."""
    has_digit = any(c.isdigit() for c in token)
    if not has_digit:
        return False
    if any(c.islower() for c in token) and any(c.isupper() for c in token):
        return True
    return all(c in "0123456789abcdefABCDEF" for c in token)


def _long(match: re.Match[str]) -> str:
    return REDACTED if _random_looking(match.group(0)) else match.group(0)


def _label(match: re.Match[str]) -> str:
    label, value = match.group(1), match.group(2)
    if _URL_PARAM.match(label) or _tokenish(value):  # in a URL any value of a credential parameter goes
        return label + REDACTED
    return match.group(0)


def scrub_shapes(text: str) -> str:
    """TEXT without anything shaped like a credential. The label patterns, the slowest, run only
    where a word of theirs occurs (most error text, "Rate limit reached...", has none)."""
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        text = _SCHEMES.sub(_label, text)
    if any(word in lowered for word in _LABEL_WORDS):
        text = _LABELS.sub(_label, text)
    return _LONG_RE.sub(_long, _KNOWN_RE.sub(REDACTED, text))


class Secrets:
    """The credentials this process holds, grouped by who registered them (the gateway its config,
    the stored-key ring its keys), so that each group can be replaced without knowing the others."""

    def __init__(self) -> None:
        self._groups: dict[object, frozenset[str]] = {}
        self._pattern: re.Pattern[str] | None = None
        self._names: dict[str, str] = {}  # `scrub_name`'s answers

    def hold(self, owner: object, values: Iterable[str | None]) -> None:
        """OWNER's credentials are now VALUES (replacing what it held before)."""
        self._groups[owner] = frozenset(v for v in values if v and len(v) >= MIN_HELD)
        self._compile()

    def release(self, owner: object) -> None:
        self._groups.pop(owner, None)
        self._compile()

    def _compile(self) -> None:
        held = sorted({v for group in self._groups.values() for v in group}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, held))) if held else None
        self._names = {}

    def scrub(self, text: str, sent_key: str | None = None) -> str:
        """TEXT without any held credential, SENT_KEY (the key the call carried) or key-shaped token."""
        if sent_key and len(sent_key) >= MIN_HELD and sent_key in text:
            text = text.replace(sent_key, REDACTED)
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return scrub_shapes(text)

    def names_one(self, text: str) -> bool:
        """Does TEXT hold a credential the process holds, or one of a known key format? (Not the
        long-random-token net: an identifier a client chose, such as a request id, often is one.)"""
        pattern = self._pattern
        return bool((pattern is not None and pattern.search(text)) or _KNOWN_RE.search(text)
                    or _SCHEMES.search(text))

    def scrub_name(self, text: str) -> str:
        """TEXT scrubbed, for the few values a client names that every request's record keeps (its
        model, its user agent): they repeat, so each is scrubbed once and looked up after (a scrub
        costs a few thousand instructions, a look-up a hundred)."""
        names = self._names
        scrubbed = names.get(text)
        if scrubbed is None:
            if len(names) >= MAX_NAMES:
                names.clear()
            scrubbed = names[text] = self.scrub(text)
        return scrubbed

    def without_held(self, value: Any) -> Any:
        """A JSON value with every credential the process holds taken out of its strings, and nothing
        else: for what is kept as the client's own content (a stored conversation), where the shape net
        would also take the long tokens and ids a conversation may rightly hold."""
        pattern = self._pattern
        if pattern is None:
            return value
        if isinstance(value, str):
            return pattern.sub(REDACTED, value)
        if isinstance(value, dict):
            return {k: self.without_held(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.without_held(v) for v in value]
        return value

    def scrub_value(self, value: Any, sent_key: str | None = None) -> Any:
        """A JSON value with every string in it scrubbed (object keys are field names and stay)."""
        if isinstance(value, str):
            return self.scrub(value, sent_key)
        if isinstance(value, dict):
            return {k: self.scrub_value(v, sent_key) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_value(v, sent_key) for v in value]
        return value


def held_by(config: Config, server_secret: bytes | None = None) -> list[str]:
    """Every credential a config gives the gateway: provider keys and credential headers (with and
    without their scheme), credentials inside its URLs (a password, a `?key=`), the master key, the
    server secret (which may come from elsewhere) and the trace collector's credential headers."""
    held = [config.auth.master_key, config.auth.secret]
    if server_secret:
        held.append(server_secret.decode(errors="replace"))
    headers = [config.otel.headers]
    for provider in config.providers.values():
        held += provider.api_keys
        held += _url_credentials(provider.base_url)
        headers.append(provider.headers)
    held += _url_credentials(config.otel.endpoint)
    for named in headers:
        for name, value in named.items():
            if _CREDENTIAL_HEADER.search(name):
                held += [value, value.partition(" ")[2]]
    return [value for value in held if value]


def _url_credentials(url: str | None) -> list[str]:
    """The password in URL's user part and the values of its query parameters (where keys go)."""
    if not url:
        return []
    parts = urlsplit(url)
    return [parts.password or "", *(value for _, value in parse_qsl(parts.query))]


SECRETS = Secrets()  # one per process: whatever scrubs text (upstream errors, a log filter) consults it


def scrub(text: str, sent_key: str | None = None) -> str:
    return SECRETS.scrub(text, sent_key)


def scrub_value(value: Any, sent_key: str | None = None) -> Any:
    return SECRETS.scrub_value(value, sent_key)

