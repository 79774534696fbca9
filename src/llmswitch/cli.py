"""The `llmswitch` command: serve, check-config, keys, usage, status, fake-upstream."""

from __future__ import annotations

import importlib.util
import multiprocessing
import signal
import socket
import sys
from pathlib import Path
from typing import Optional

import typer

from llmswitch import cli_keys, cli_status, cli_usage
from llmswitch.config import Config, ConfigError, load_config
from llmswitch.core.metric_slots import workers_directory

app = typer.Typer(add_completion=False, no_args_is_help=True, help="llmswitch: an LLM API gateway.")


def _load_or_exit(path: Optional[Path]) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        typer.echo(f"configuration error in {error.problems[0].file}:", err=True)
        for problem in error.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None


def _bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket shared by every worker (SO_REUSEPORT spreads connections across them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run_worker(config: Config, sock: socket.socket, workers_dir: Optional[Path] = None) -> None:
    import uvloop

    from llmswitch.app import build_app
    from llmswitch.server import serve
    from llmswitch.telemetry import logs
    from llmswitch.telemetry.output import STDERR

    logs.configure(config.logging.level, logs.resolve_format(config.logging.format))
    uvloop.install()
    try:
        serve(build_app(config, workers_dir), sock, grace_s=config.server.shutdown_grace_s)
    finally:
        STDERR.close()  # a forked worker ends without running atexit: the last lines are written here


@app.command()
def serve(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (default: ./llmswitch.yaml, "
                                          "else the built-in demo)"),
    host: Optional[str] = typer.Option(None, help="Listen address (overrides server.host)"),
    port: Optional[int] = typer.Option(None, help="Listen port (overrides server.port)"),
    workers: Optional[int] = typer.Option(None, help="Worker processes, one per core (overrides server.workers)"),
) -> None:
    """Start the gateway."""
    cfg = _load_or_exit(config)
    if cfg.otel.endpoint and importlib.util.find_spec("opentelemetry.sdk") is None:
        typer.echo("otel.endpoint is set, but the OpenTelemetry SDK is not installed: "
                   "pip install 'llmswitch[otel]'", err=True)
        raise typer.Exit(2)
    host = host or cfg.server.host
    port = port if port is not None else cfg.server.port
    count = workers or cfg.server.workers
    try:
        sock = _bound_socket(host, port)
    except OSError as error:
        typer.echo(f"cannot listen on {host}:{port}: {error.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"llmswitch listening on http://{host}:{sock.getsockname()[1]} ({cfg.source}, "
               f"{len(cfg.models)} models, auth {cfg.auth.effective_mode}, {count} worker(s))", err=True)
    if count <= 1:
        _run_worker(cfg, sock)
        return
    with workers_directory() as directory:  # where each worker counts its metrics, for any to add up
        _supervise([multiprocessing.get_context("fork").Process(target=_run_worker, args=(cfg, sock, directory))
                    for _ in range(count)], sock)


def _supervise(workers: list[multiprocessing.process.BaseProcess], sock: socket.socket) -> None:
    """Run the workers until they exit; SIGTERM or Ctrl-C on this process stops them all (each shuts
    down as one worker alone does), so that stopping the gateway never leaves orphaned workers
    holding the port. The workers hold the listening socket; this process lets go of its copy, or
    the port would still take connections that no worker accepts once they stop listening."""

    def stop(_signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    for worker in workers:
        worker.start()
    sock.close()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()


@app.command("check-config")
def check_config(config: Path = typer.Argument(..., help="YAML config to validate")) -> None:
    """Validate a config file without starting; print every problem with its file, line and key."""
    cfg = _load_or_exit(config)
    typer.echo(f"{config}: OK ({len(cfg.providers)} providers, {len(cfg.models)} models, "
               f"{len(cfg.aliases)} aliases, auth {cfg.auth.effective_mode})")


@app.command("fake-upstream", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def fake_upstream(ctx: typer.Context) -> None:
    """Serve the faithful fake OpenAI / Anthropic / Gemini upstream used by tests, demo and bench
    (flags: --port, --latency-ms, --tokens-per-second, --chunks, --name...; see --help)."""
    from llmswitch.fake_upstream.__main__ import main as fake_main

    fake_main(ctx.args)


app.command("status")(cli_status.status)
app.command("usage")(cli_usage.usage)
app.add_typer(cli_keys.keys_app, name="keys")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
