"""``officehub``: the hub, the demo, the simulator, real device agents and database tools."""

from __future__ import annotations

import base64
import contextlib
import logging
import secrets
import sys
from pathlib import Path

import click

from devices.door_terminal.cli import door
from devices.print_box.cli import printbox
from firmware_sim.cli import sim
from hub.settings import ConfigError, Settings, load_settings


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("amqtt", "transitions", "uvicorn.access", "sse_starlette"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings(**kw: object) -> Settings:
    try:
        return load_settings(**kw)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="officehub")
def main() -> None:
    """OfficeHub: a self-hosted hub for face door/attendance terminals and cloud-print boxes.

    \b
    Quick start:   officehub demo          (hub + embedded broker + simulated fleet)
    Production:    officehub serve --broker mqtts://mosquitto:8883 --db postgresql+psycopg://…
    Settings come from flags, OFFICEHUB_* environment variables or a YAML file (--config).
    """


@main.command()
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML settings file (keys as in hub/settings.py).")
@click.option("--broker", "broker_url", default=None,
              help="mqtt://host:port of the broker (required outside demo mode; omitted in demo mode = "
                   "start the embedded, anonymous broker).")
@click.option("--broker-port", "embedded_broker_port", type=int, default=None,
              help="Port of the embedded broker (default 18830).")
@click.option("--db", "database_url", default=None, help="SQLAlchemy URL (default: SQLite in --data-dir).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--host", "http_host", default=None, help="HTTP bind address (default 127.0.0.1).")
@click.option("--port", "http_port", type=int, default=None, help="HTTP port (default 8080).")
@click.option("--tls-certfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Serve HTTPS with this PEM certificate (chain); needs --tls-keyfile.")
@click.option("--tls-keyfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Private key of --tls-certfile.")
@click.option("-v", "--verbose", is_flag=True)
def serve(config: Path | None, verbose: bool, **kw: object) -> None:
    """Run the hub: REST API + console, MQTT ingest, workers. Migrates the database first."""
    import os

    import uvicorn

    from hub.api.app import create_app

    _logging(verbose)
    if config is not None:
        os.environ["OFFICEHUB_CONFIG"] = str(config)
    settings = _settings(**kw)
    app = create_app(settings)
    # uvicorn re-raises the captured Ctrl-C after its graceful shutdown: that is a clean exit.
    with contextlib.suppress(KeyboardInterrupt):
        # HTTPS when both files are set (checked, with a clear error, when the settings loaded).
        uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="warning",
                    ssl_certfile=settings.tls_certfile, ssl_keyfile=settings.tls_keyfile)


@main.command()
@click.option("--doors", type=click.IntRange(min=0), default=6, show_default=True)
@click.option("--printboxes", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--port", "http_port", type=int, default=8080, show_default=True)
@click.option("--broker-port", "embedded_broker_port", type=int, default=18830, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/demo"),
              show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("-v", "--verbose", is_flag=True)
def demo(doors: int, printboxes: int, seed: int, verbose: bool, **kw: object) -> None:
    """Hub + embedded MQTT broker + SQLite + a simulated fleet, on this machine. Ctrl-C stops it all."""
    from hub.demo import run_demo

    _logging(verbose)
    settings = _settings(mode="demo", **kw)
    sys.exit(run_demo(settings, doors=doors, printboxes=printboxes, seed=seed))


@main.group()
def db() -> None:
    """Database tools."""


@db.command("upgrade")
@click.option("--db", "database_url", default=None, help="SQLAlchemy URL (default from settings).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def db_upgrade(**kw: object) -> None:
    """Apply every Alembic migration (all feature branches) to the database."""
    from hub.db.migrate import upgrade

    settings = _settings(mode="demo", **kw)
    upgrade(settings.db_url)
    click.echo(f"database at {settings.db_url} is up to date")


@main.command()
def keygen() -> None:
    """Print fresh secrets for production (OFFICEHUB_SECRET_KEY, OFFICEHUB_TEMPLATE_KEY)."""
    click.echo(f"OFFICEHUB_SECRET_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"OFFICEHUB_TEMPLATE_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}")


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("deploy/certs"),
              show_default=True, help="Folder for ca.pem, server.pem, server.key (mounted by docker-compose.yml).")
@click.option("--ca-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("deploy/ca"),
              show_default=True, help="The private CA (ca.key stays here, never mounted); reused when present.")
@click.option("--host", "hosts", multiple=True, metavar="NAME|IP",
              help="A name or address devices and browsers use for this site (repeatable); localhost, "
                   "127.0.0.1, hub and mosquitto are always included.")
@click.option("--client", "clients", multiple=True, metavar="NAME",
              help="Also make a client certificate (mutual TLS) clients/NAME.pem (repeatable).")
@click.option("--days", type=click.IntRange(1, 825), default=825, show_default=True)
def certs(out: Path, ca_dir: Path, hosts: tuple[str, ...], clients: tuple[str, ...], days: int) -> None:
    """Make a private CA and the site's TLS certificates (hub HTTPS + Mosquitto on 8883)."""
    from hub.certs import load_or_create_ca, make_site_certs

    _ca, created = load_or_create_ca(ca_dir)
    try:
        written = make_site_certs(out=out, ca_dir=ca_dir, hosts=hosts, clients=clients, days=days)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(("created the CA in " if created else "reused the CA in ") + str(ca_dir))
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"devices trust {out / 'ca.pem'} (--ca-file); keep {ca_dir / 'ca.key'} off the servers")


main.add_command(sim)
main.add_command(door)
main.add_command(printbox)

if __name__ == "__main__":
    main()
