"""The YAML configuration contract: load, interpolate `${ENV}`, validate.

Every problem is reported with the file, the line and the dotted key it concerns, so that a
user can fix a config without reading our source. Validation happens once at start-up (and in
`llmswitch check-config`); the rest of the program relies on the typed structures below.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
import yaml

Dialect = Literal["openai", "anthropic", "gemini"]
PROVIDER_DIALECTS: dict[str, Dialect] = {
    "openai": "openai",
    "demo": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
}


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base for config sections: unknown keys are errors, not silently ignored."""


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 4000
    cors_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])
    max_concurrency: int = 512
    timeout_s: float = 600.0
    max_timeout_s: float = 900.0
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float | None = None  # None: the request's whole timeout
    idle_timeout_s: float = 300.0  # longest silence between two chunks of a stream
    keepalive_s: float = 15.0  # `: ping` comment on idle streams
    max_body_mb: float = 32.0
    max_upstream_body_mb: Annotated[float, msgspec.Meta(gt=0)] = 64.0  # larger answers or stream events: 502
    body_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0  # a request body must arrive within this
    workers: int = 1
    shutdown_grace_s: Annotated[float, msgspec.Meta(ge=0)] = 30.0  # SIGTERM: time left to requests in flight
    # `/`, `/health` and `/health/ready` per client IP: a token bucket refilled at status_rps (0: unlimited)
    status_rps: Annotated[float, msgspec.Meta(ge=0)] = 20.0
    status_burst: Annotated[int, msgspec.Meta(ge=1)] = 50


class AuthConfig(_Strict):
    mode: Literal["open", "keys", "passthrough"] | None = None  # None: keys if master_key else open
    master_key: str | None = None
    key_prefix: str = "sk-llms-"
    secret: str | None = None  # keys the key hashes and encrypts stored upstream keys

    @property
    def effective_mode(self) -> str:
        if self.mode is not None:
            return self.mode
        return "keys" if self.master_key else "open"


class ProviderConfig(_Strict):
    type: Literal["openai", "anthropic", "gemini", "demo"]
    base_url: str | None = None
    api_keys: list[str] = msgspec.field(default_factory=list)
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    anthropic_version: str = "2023-06-01"
    # type openai: does the server have OpenAI's Responses API? Unset: yes. False (vLLM, Ollama, Groq and
    # other chat-only servers): Responses calls to it are translated through Chat Completions.
    responses_api: bool | None = None

    @property
    def dialect(self) -> Dialect:
        return PROVIDER_DIALECTS[self.type]

    @property
    def has_responses_api(self) -> bool:
        return self.type == "openai" and self.responses_api is not False


def unsendable(value: str) -> str | None:
    """Why VALUE cannot be sent as an HTTP header value (a key, a configured header), or None.

    A NUL, CR, LF or any other unprintable character would break the header or forge another one
    (a key pasted with its trailing newline is the usual case); the value itself is never quoted,
    because it is a secret."""
    for position, char in enumerate(value):
        if not char.isprintable():
            return (f"holds a character that cannot be sent in an HTTP header (U+{ord(char):04X} at "
                    f"position {position})")
    return None


class DeploymentConfig(_Strict):
    provider: str
    model: str | None = None  # upstream model id; defaults to the public name
    stream: Literal["native", "simulate"] = "native"
    weight: float = 1.0
    priority: int = 0
    rpm: int | None = None
    tpm: int | None = None
    timeout_s: float | None = None
    retry_unsafe: bool | None = None
    max_tokens_default: int | None = None
    drop_unsupported: bool = False
    # "responses": the model answers only on the Responses API (an OpenAI provider's); Chat Completions
    # and Messages clients reaching it are translated to Responses and back. None: as the client speaks.
    api: Literal["responses"] | None = None
    price: Price | None = None  # its own price, over `prices` (a provider's discount, a private model)


class ModelConfig(_Strict):
    """Long form of a model entry, for per-model routing settings."""

    deployments: list[DeploymentConfig]
    strategy: Literal["weighted", "least_busy", "latency", "headroom"] | None = None
    retry_unsafe: bool | None = None


class RoutingConfig(_Strict):
    strategy: Literal["weighted", "least_busy", "latency", "headroom"] = "weighted"
    retry_unsafe: bool = True
    max_attempts: int = 5
    circuit_failures: int = 5
    circuit_window_s: float = 30.0
    circuit_cooldown_s: float = 30.0
    latency_exploration: float = 0.05


class Price(_Strict):
    """USD per million tokens (`input`, `output`, `cached_input` read from the provider's prompt cache,
    `cache_write` written to it; each of those two unset: the input price), per minute of audio
    transcribed or translated (`audio_minute`), per million characters of text spoken (`characters`)."""

    input: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    output: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    cached_input: Annotated[float, msgspec.Meta(ge=0)] | None = None
    cache_write: Annotated[float, msgspec.Meta(ge=0)] | None = None
    audio_minute: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    characters: Annotated[float, msgspec.Meta(ge=0)] = 0.0


class CompatConfig(_Strict):
    """The body-keyed routes of the proxies llmswitch replaces (`surfaces.compat`)."""

    allow_client_upstream_keys: bool = False  # a request's `openai_api_key` is sent to OpenAI upstreams


class UIConfig(_Strict):
    """The admin web panel at `/ui` (keys mode with a master key)."""

    enabled: bool = True
    session_hours: Annotated[float, msgspec.Meta(gt=0, le=720)] = 12.0  # a sign-in lasts this long


class ResponsesConfig(_Strict):
    """The gateway's own store of Responses API responses (those it translates; an OpenAI deployment
    with the Responses API keeps its own, and the gateway only records which one made which id)."""

    store: Literal["auto", "database", "memory"] = "auto"  # auto: the database in keys mode, else memory
    retention_days: Annotated[float, msgspec.Meta(gt=0)] = 30.0  # stored responses older than this are gone
    memory_limit: Annotated[int, msgspec.Meta(ge=1)] = 1000  # responses kept in memory: all (memory), recent (database)


class MetricsConfig(_Strict):
    """`GET /metrics` in the Prometheus text format (README: Metrics)."""

    enabled: bool = True
    require_key: bool = False  # only with the master key as a bearer token (a scraper's `authorization`)


Period = Literal["daily", "weekly", "monthly", "total"]  # of a budget, in UTC (`core.limits.period_bounds`)


class WebhookConfig(_Strict):
    """Where budget alerts are POSTed, and how the receiver can tell they are ours (`core.alert_webhook`)."""

    url: str  # http(s); credentials in it (user:password@) are sent as basic auth
    secret: Annotated[str, msgspec.Meta(min_length=16)]  # keys the HMAC-SHA256 signature of every call
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0  # one attempt, connection to answer
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    retry_s: Annotated[float, msgspec.Meta(gt=0)] = 2.0  # before the second attempt, doubling after each
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class ModelBudget(_Strict):
    budget_usd: Annotated[float, msgspec.Meta(ge=0)]
    period: Period = "monthly"


class AlertsConfig(_Strict):
    """Budget alerts: a key (its own `budget_usd`) or a model (`models`) whose spend in its period
    crosses a threshold percentage of its budget calls the webhook once (`core.budget_alerts`)."""

    webhook: WebhookConfig
    thresholds: Annotated[list[Annotated[float, msgspec.Meta(gt=0, le=1000)]], msgspec.Meta(min_length=1)] = \
        msgspec.field(default_factory=lambda: [50.0, 80.0, 100.0])
    models: dict[str, ModelBudget] = msgspec.field(default_factory=dict)
    interval_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 2.0  # between two looks at the spend


class UsageConfig(_Strict):
    """The usage ledger (`core.usage`): one record per request, in `database_url`, in every auth mode."""

    enabled: bool = True
    retention_days: Annotated[float, msgspec.Meta(gt=0)] | None = None  # None: records are kept for good
    spill_path: str = "llmswitch-usage.spill"  # records a database outage leaves over go to files named after it
    memory_records: Annotated[int, msgspec.Meta(ge=100)] = 20_000  # records held in memory in an outage, then spilled


class LoggingConfig(_Strict):
    """What goes to standard error: log records at `level` and up, one access line per request (`access`),
    with the request's and the answer's bodies, truncated and redacted, when `bodies` is on."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "text"] = "auto"  # auto: text on a terminal, else JSON lines
    access: bool = True
    bodies: bool = False


class OtelConfig(_Strict):
    """OpenTelemetry traces exported over OTLP/HTTP (protobuf) to `endpoint` (a collector's base URL, to
    which `/v1/traces` is added, or that full URL); unset: no tracing, nothing imported."""

    endpoint: str | None = None
    service_name: str = "llmswitch"
    headers: dict[str, str] = msgspec.field(default_factory=dict)  # sent with every export (a collector's key)


class LimitsConfig(_Strict):
    backend: Literal["memory", "redis"] | None = None  # None: redis if redis_url else memory
    budget_reserve_tokens: int = 4096  # completion tokens reserved against a budget when max_tokens is unset


@dataclass(frozen=True)
class Model:
    """A public model name and the deployments that serve it, as the router needs them."""

    name: str
    deployments: list[DeploymentConfig]
    strategy: str | None
    retry_unsafe: bool | None


class Config(msgspec.Struct, kw_only=True):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    providers: dict[str, ProviderConfig] = msgspec.field(default_factory=dict)
    models: dict[str, Model] = msgspec.field(default_factory=dict)
    aliases: dict[str, str] = msgspec.field(default_factory=dict)
    default_model: str | None = None
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)
    fallbacks: dict[str, list[str]] = msgspec.field(default_factory=dict)
    context_window_fallbacks: dict[str, list[str]] = msgspec.field(default_factory=dict)
    prices: dict[str, Price] = msgspec.field(default_factory=dict)
    database_url: str = "sqlite:///llmswitch.db"
    redis_url: str | None = None
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    compat: CompatConfig = msgspec.field(default_factory=CompatConfig)
    ui: UIConfig = msgspec.field(default_factory=UIConfig)
    responses: ResponsesConfig = msgspec.field(default_factory=ResponsesConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    alerts: AlertsConfig | None = None
    usage: UsageConfig = msgspec.field(default_factory=UsageConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    otel: OtelConfig = msgspec.field(default_factory=OtelConfig)
    source: str = "<config>"

    def resolve_model(self, name: str, default: bool = True) -> Model | None:
        """Public name, exact alias, glob alias, then (unless `default` is False) the default model;
        None if nothing serves it."""
        model = self.models.get(name)
        if model is not None:
            return model
        target = self.aliases.get(name)
        if target is None:
            for pattern, candidate in self.aliases.items():
                if _is_glob(pattern) and fnmatch.fnmatchcase(name, pattern):
                    target = candidate
                    break
        if target is not None:
            return self.models.get(target)
        if default and self.default_model is not None:
            return self.models.get(self.default_model)
        return None

    def public_names(self) -> list[str]:
        """Model names clients may list: models and plain (non-glob) aliases."""
        return list(self.models) + [a for a in self.aliases if not _is_glob(a)]


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key or '<root>'}: {self.message}"


class ConfigError(Exception):
    """One or more problems in a config file; str() lists them one per line."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_SCALARS = yaml.constructor.SafeConstructor()
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Path_ = tuple[str | int, ...]


class _Loader:
    """Turns YAML nodes into plain data, interpolating env vars and remembering each key's line."""

    def __init__(self, file: str, env: dict[str, str]):
        self.file = file
        self.env = env
        self.lines: dict[Path_, int] = {}
        self.problems: list[ConfigProblem] = []

    def load(self, text: str) -> Any:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            raise ConfigError([ConfigProblem(self.file, line, "", f"invalid YAML: {exc}")]) from None
        if node is None:
            return {}
        return self._value(node, ())

    def _value(self, node: yaml.Node, path: Path_) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(_SCALARS.construct_object(key_node))  # type: ignore[no-untyped-call]
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self._value(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(item, path + (i,)) for i, item in enumerate(node.value)]
        scalar = _SCALARS.construct_object(node)  # type: ignore[no-untyped-call]
        if isinstance(scalar, str) and "${" in scalar:
            return self._interpolate(scalar, node, path)
        return scalar

    def _interpolate(self, text: str, node: yaml.Node, path: Path_) -> Any:
        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self.problems.append(
                ConfigProblem(self.file, node.start_mark.line + 1, dotted(path),
                              f"environment variable {name} is not set")
            )
            return ""

        # Always a string: msgspec's lax mode turns "4000" into an int where an int is wanted,
        # while an API key that happens to be all digits stays a string.
        return _ENV_RE.sub(sub, text)

    def line_of(self, path: Path_) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MSGSPEC_PATH = re.compile(r" - at `\$(.*)`$")
_MSGSPEC_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


class _Validator:
    def __init__(self, loader: _Loader):
        self.loader = loader

    def problem(self, path: Path_, message: str) -> None:
        self.loader.problems.append(
            ConfigProblem(self.loader.file, self.loader.line_of(path), dotted(path), message)
        )

    def convert(self, value: Any, typ: Any, path: Path_) -> Any:
        try:
            return msgspec.convert(value, typ, strict=False)
        except msgspec.ValidationError as exc:
            message = str(exc)
            sub: list[str | int] = []
            match = _MSGSPEC_PATH.search(message)
            if match:
                message = message[: match.start()]
                for name, index in _MSGSPEC_PART.findall(match.group(1)):
                    sub.append(int(index) if index else name)
            unknown = re.match(r"Object contains unknown field `(.+)`", message)
            if unknown:
                sub.append(unknown.group(1))
                message = "unknown key"
            self.problem(path + tuple(sub), message.replace("`", ""))
            return None

    def mapping(self, raw: Any, path: Path_) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(path, f"expected a mapping, got {type(raw).__name__}")
            return {}
        return raw


_SECTIONS = {"server", "auth", "providers", "models", "aliases", "default_model", "routing",
             "fallbacks", "context_window_fallbacks", "prices", "database_url", "redis_url", "limits",
             "ui", "compat", "responses", "metrics", "alerts", "usage", "logging", "otel"}


def parse_config(text: str, file: str = "<config>", env: dict[str, str] | None = None) -> Config:
    """Parse and validate a config document; raise ConfigError listing every problem found."""
    loader = _Loader(file, dict(os.environ) if env is None else env)
    raw = loader.load(text)
    v = _Validator(loader)
    raw = v.mapping(raw, ())
    for key in raw:
        if key not in _SECTIONS:
            v.problem((key,), "unknown key")

    server = v.convert(raw.get("server") or {}, ServerConfig, ("server",))
    auth = v.convert(raw.get("auth") or {}, AuthConfig, ("auth",))
    routing = v.convert(raw.get("routing") or {}, RoutingConfig, ("routing",))
    limits = v.convert(raw.get("limits") or {}, LimitsConfig, ("limits",))
    compat = v.convert(raw.get("compat") or {}, CompatConfig, ("compat",))
    ui = v.convert(raw.get("ui") or {}, UIConfig, ("ui",))
    responses = v.convert(raw.get("responses") or {}, ResponsesConfig, ("responses",))
    metrics = v.convert(raw.get("metrics") or {}, MetricsConfig, ("metrics",))
    if metrics is not None and metrics.require_key and auth is not None and not auth.master_key:
        v.problem(("metrics", "require_key"), "needs auth.master_key (the key a scraper presents)")
    usage = v.convert(raw.get("usage") or {}, UsageConfig, ("usage",))
    logging = v.convert(raw.get("logging") or {}, LoggingConfig, ("logging",))
    otel = v.convert(raw.get("otel") or {}, OtelConfig, ("otel",))
    if otel is not None and otel.endpoint is not None and not re.match(r"https?://[^/\s]+", otel.endpoint):
        v.problem(("otel", "endpoint"), "must be an http:// or https:// URL")
    providers: dict[str, ProviderConfig] = {}
    for name, body in v.mapping(raw.get("providers"), ("providers",)).items():
        provider = v.convert(body, ProviderConfig, ("providers", name))
        if provider is not None:
            providers[name] = provider
            if provider.type != "demo" and not provider.base_url:
                v.problem(("providers", name, "base_url"), "required for this provider type")
            sent = [(("api_keys", i), key) for i, key in enumerate(provider.api_keys)]
            sent += [(("headers", header), value) for header, value in provider.headers.items()]
            for where, value in sent:
                if (why := unsendable(value)) is not None:
                    v.problem(("providers", name, *where), why)
            if provider.responses_api is not None and provider.type != "openai":
                v.problem(("providers", name, "responses_api"), "only a provider of type openai may set it")

    models: dict[str, Model] = {}
    for name, body in v.mapping(raw.get("models"), ("models",)).items():
        path = ("models", name)
        entry = v.convert(body, list[DeploymentConfig] | ModelConfig, path)
        if entry is None:
            continue
        deployments = entry if isinstance(entry, list) else entry.deployments
        if not deployments:
            v.problem(path, "needs at least one deployment")
        prefix = path if isinstance(entry, list) else path + ("deployments",)
        for i, dep in enumerate(deployments):
            if dep.provider not in providers:
                v.problem(prefix + (i, "provider"), f"unknown provider {dep.provider!r}")
            elif dep.api == "responses" and not providers[dep.provider].has_responses_api:
                v.problem(prefix + (i, "api"), f"provider {dep.provider!r} has no Responses API (it needs type "
                                               "openai without responses_api: false)")
            if dep.model is None:
                dep.model = name
        models[name] = Model(
            name=name,
            deployments=deployments,
            strategy=None if isinstance(entry, list) else entry.strategy,
            retry_unsafe=None if isinstance(entry, list) else entry.retry_unsafe,
        )

    aliases = v.convert(raw.get("aliases") or {}, dict[str, str], ("aliases",)) or {}
    for alias, target in aliases.items():
        if target not in models:
            v.problem(("aliases", alias), f"points to unknown model {target!r}")
    default_model = raw.get("default_model")
    if default_model is not None and default_model not in models:
        v.problem(("default_model",), f"unknown model {default_model!r}")

    chains: dict[str, dict[str, list[str]]] = {}
    for section in ("fallbacks", "context_window_fallbacks"):
        chain = v.convert(raw.get(section) or {}, dict[str, list[str]], (section,)) or {}
        for source, targets in chain.items():
            for i, target in enumerate([source, *targets]):
                if target not in models and target not in aliases:
                    v.problem((section, source) + ((i - 1,) if i else ()), f"unknown model {target!r}")
        chains[section] = chain
    # each price converted alone, so that a problem names its model
    prices = {name: price for name, body in v.mapping(raw.get("prices"), ("prices",)).items()
              if (price := v.convert(body, Price, ("prices", name))) is not None}
    database_url = v.convert(raw.get("database_url", "sqlite:///llmswitch.db"), str, ("database_url",))
    redis_url = v.convert(raw.get("redis_url"), str | None, ("redis_url",))
    alerts = _alerts(v, raw.get("alerts"), auth, models)

    if loader.problems:
        raise ConfigError(loader.problems)
    return Config(
        server=server, auth=auth, providers=providers, models=models, aliases=aliases,
        default_model=default_model, routing=routing, fallbacks=chains["fallbacks"],
        context_window_fallbacks=chains["context_window_fallbacks"], prices=prices,
        database_url=database_url, redis_url=redis_url, limits=limits, ui=ui, compat=compat,
        responses=responses, metrics=metrics, alerts=alerts, usage=usage, logging=logging, otel=otel,
        source=file,
    )


def _alerts(v: _Validator, raw: Any, auth: AuthConfig | None, models: dict[str, Model]) -> AlertsConfig | None:
    """The `alerts` section; its URL is never quoted in a problem (it may hold a credential)."""
    if raw is None:
        return None
    raw = v.mapping(raw, ("alerts",))
    budgets = v.mapping(raw.get("models"), ("alerts", "models"))  # one by one: msgspec paths omit dict keys
    alerts: AlertsConfig | None = v.convert({k: x for k, x in raw.items() if k != "models"}, AlertsConfig,
                                            ("alerts",))
    for name, body in budgets.items():
        budget = v.convert(body, ModelBudget, ("alerts", "models", name))
        if name not in models:
            v.problem(("alerts", "models", name), f"unknown model {name!r}")
        elif budget is not None and alerts is not None:
            alerts.models[name] = budget
    if alerts is None:
        return None
    if auth is not None and auth.effective_mode != "keys":
        v.problem(("alerts",), "needs auth mode keys: alerts read the spend in the usage table of the database")
    parts = urlsplit(alerts.webhook.url)
    if parts.scheme not in ("http", "https") or not parts.hostname or unsendable(alerts.webhook.url):
        v.problem(("alerts", "webhook", "url"), "must be an http:// or https:// URL")
    for header, value in alerts.webhook.headers.items():
        if (why := unsendable(value)) is not None:
            v.problem(("alerts", "webhook", "headers", header), why)
    if len(set(alerts.thresholds)) < len(alerts.thresholds):
        v.problem(("alerts", "thresholds"), "holds a percentage twice")
    alerts.thresholds.sort()
    return alerts


def load_config(path: str | Path | None) -> Config:
    """Load FILE, else ./llmswitch.yaml if present, else the built-in demo config."""
    if path is None:
        local = Path("llmswitch.yaml")
        if local.exists():
            path = local
        else:
            text = resources.files("llmswitch").joinpath("demo.yaml").read_text()
            return parse_config(text, "<built-in demo config>")
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc.strerror}")]) from None
    return parse_config(text, str(path))
