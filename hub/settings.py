"""Hub configuration: one pydantic-settings model.

Sources, highest first: constructor arguments (CLI flags), ``OFFICEHUB_*`` environment variables,
an optional YAML file (``OFFICEHUB_CONFIG`` or ``--config``), defaults. Unknown keys are refused
with their location, and default secrets are refused outside demo mode.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from hub.domain.webhook_targets import AllowList
from hub.tls import check_tls


class ConfigError(RuntimeError):
    """A configuration problem, with a message meant for the person starting the hub."""


class YamlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = yaml.safe_load(self.path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {self.path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {self.path} must hold a mapping of settings")
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OFFICEHUB_", extra="forbid", validate_default=True)

    mode: Literal["demo", "production"] = "production"
    data_dir: Path = Path("var")
    demo_face_dataset: Path | None = Field(
        default=None, description="`officehub demo`: folder with enroll/ and probe/ photos; "
                                  "default ../shared/datasets/faces beside the repository")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")

    # MQTT: None means "start the embedded amqtt broker" (demo mode only: it lets anyone in).
    broker_url: str | None = Field(default=None, description="mqtt://host:port; required outside demo mode")
    broker_username: str | None = None
    broker_password: SecretStr | None = None
    embedded_broker_port: int = Field(default=18830, ge=0, le=65535)
    # TLS to the broker: an mqtts:// broker_url is verified against broker_ca_file (default: the system
    # store), host name included; broker_certfile/keyfile are an optional client certificate.
    broker_ca_file: Path | None = Field(default=None, description="PEM CA that signed the broker's certificate")
    broker_certfile: Path | None = Field(default=None, description="Client certificate for the broker (mTLS)")
    broker_keyfile: Path | None = Field(default=None, description="Private key of broker_certfile")
    broker_tls_check_hostname: bool = Field(default=True, description="Refuse a broker certificate issued "
                                            "for another host name (turn off only for a known broker by IP)")
    hub_client_id: str = "officehub-hub"
    shared_subscription_group: str | None = Field(
        default=None, description="Set on every replica to split device traffic via $share/<group>/…")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = Field(default=None, description="Base URL devices use to download files")
    # HTTPS: with both set the hub serves only HTTPS on http_port (and its own URLs say https).
    tls_certfile: Path | None = Field(default=None, description="PEM certificate (chain) the hub serves HTTPS with")
    tls_keyfile: Path | None = Field(default=None, description="PEM private key of tls_certfile")

    secret_key: SecretStr | None = None
    template_key: SecretStr | None = Field(default=None, description="base64 AES-256 key for face templates")
    admin_password: SecretStr | None = None
    token_ttl_s: int = Field(default=12 * 3600, ge=60)
    login_max_failures_per_user: int = Field(default=5, ge=1, description="Failed sign-ins per username "
                                             "per window before 429 (in-process count)")
    login_max_failures_per_address: int = Field(default=20, ge=1, description="Failed sign-ins per client "
                                                "address per window before 429")
    login_throttle_window_s: float = Field(default=300, ge=1)

    auto_register_devices: bool = Field(
        default=True, description="Accept devices that announce themselves on info; else provisioned only")
    device_offline_after_s: float = Field(default=90, ge=5)
    max_payload_bytes: int = Field(default=512 * 1024, ge=1024)
    ingest_batch_max: int = Field(default=2000, ge=1)
    # Backpressure (hub/ingest/inbox.py): past these the hub refuses new events; devices keep them in
    # their outbox and send them again. Messages taken by the writer count until they are stored.
    ingest_inbox_max_messages: int = Field(
        default=20_000, ge=10, description="Messages held between MQTT and the database before events are refused")
    ingest_inbox_max_mb: float = Field(
        default=64, gt=0, description="Memory held between MQTT and the database before events are refused")
    ingest_store_process: bool = Field(
        default=True, description="Validate and store events in a child process (uses a second core)")
    command_default_ttl_s: float = Field(default=60, ge=1)
    # Request bodies are counted as they arrive (chunked ones too), so no client makes the hub hold more.
    http_max_body_mb: float = Field(default=2, gt=0, description="Largest request body outside upload routes")
    face_max_upload_mb: float = Field(default=40, gt=0, description="Largest request to a face route "
                                      "(enrolment photos, identify, verify, remote check-in, release by face)")
    firmware_max_upload_mb: float = Field(default=512, gt=0, description="Largest firmware upload")
    form_max_fields: int = Field(default=20, ge=1, description="Non-file fields in one multipart form")
    form_max_files: int = Field(default=16, ge=1, description="File parts in one multipart form")
    form_max_field_kb: float = Field(default=16, gt=0, description="Largest non-file form field")
    # Face check-in: enrolment photos are discarded after encoding unless kept on purpose.
    keep_enrolment_photos: bool = False
    # Face work runs in worker processes (a native crash costs one request, not the hub).
    face_workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 2), ge=1, le=64,
                              description="Face worker processes (default: one per core, at most 4)")
    face_queue_limit: int = Field(default=8, ge=0, description="Face jobs waiting beyond the busy workers; "
                                  "past that, answer 503 'face engine busy' at once")
    face_job_timeout_s: float = Field(default=30, gt=0, description="A face job longer than this kills its worker")
    face_worker_max_rss_mb: int = Field(default=1536, ge=200, description="Recycle a worker that grew past this")
    snapshot_retention_days: float = Field(default=7, ge=0, description="0: keep no check-in snapshots")
    print_max_upload_mb: float = Field(default=200, gt=0, description="Largest accepted print upload")
    # 25 MP: a 24 MP camera photo or an A3 page at 300 dpi. Converting one costs up to ~7 bytes a pixel
    # (RGBA decode + RGB page), so this bounds the hub's memory per image upload (~175 MB at the default).
    print_max_image_pixels: int = Field(default=25_000_000, ge=1,
                                        description="Largest image (width × height) converted for printing")
    print_hold_ttl_h: float = Field(default=8, gt=0, description="Held (secure release) jobs expire after")
    print_retention_days: float = Field(default=7, ge=0, description="Job files kept after a job ends")
    print_url_ttl_s: int = Field(default=900, ge=10, description="Lifetime of a box's signed download URL")
    print_redeliver_after_s: float = Field(default=60, ge=1, description="Re-offer a job a box did not take")
    print_stuck_after_s: float = Field(default=4 * 3600, ge=10, description="Fail jobs with no progress after")
    print_pin_max_failures: int = Field(default=5, ge=1, description="Wrong PINs per box per window")
    print_pin_window_s: float = Field(default=900, ge=1)

    # Fleet: provisioning writes per-device accounts through Mosquitto's dynamic-security plugin.
    broker_admin_username: str | None = Field(default=None, description="dynsec admin; None: demo mode, "
                                              "devices get no broker account (embedded broker is open)")
    broker_admin_password: SecretStr | None = None
    device_broker_url: str | None = Field(default=None, description="Broker URL handed to claimed devices")
    device_ca_file: Path | None = Field(default=None, description="CA bundle handed to claimed devices, trusted "
                                        "for the broker and the hub's HTTPS; default broker_ca_file")
    # Claims are unauthenticated: failed ones are throttled per client address and across all addresses.
    claim_failures_per_source: int = Field(default=10, ge=1, description="Failed claims per address per window")
    claim_failures_global: int = Field(default=200, ge=1, description="Failed claims from all addresses per window")
    claim_failure_window_s: float = Field(default=60, gt=0)
    firmware_signing_key: Path | None = Field(default=None, description="Ed25519 PEM; default data_dir")
    firmware_url_ttl_s: int = Field(default=3600, ge=60)
    config_reconcile_s: float = Field(default=30, ge=0.2, description="Re-send desired config on drift")
    rollout_tick_s: float = Field(default=2, ge=0.1)
    alert_offline_after_s: float = Field(default=300, ge=1, description="Alert when offline this long")
    webhook_timeout_s: float = Field(default=5, gt=0, description="One delivery attempt in total: resolve, "
                                     "connect, send, answer")
    webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    webhook_retry_base_s: float = Field(default=2, gt=0, description="Backoff base: base * 2**attempt")
    webhook_concurrency: int = Field(default=8, ge=1, le=256, description="Webhook targets delivered to at once")
    # Comma-separated in the environment. Public addresses are always allowed (hub.domain.webhook_targets).
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Private/loopback targets webhooks may reach: host names, *.domains, "
                                          "IPs, CIDRs, or '*' for anything")

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        return [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _valid_allow_list(cls, v: list[str]) -> list[str]:
        AllowList.parse(v)  # names the entry that is not a host, *.domain, IP or CIDR
        return v

    @model_validator(mode="after")
    def _tls_files_usable(self) -> Settings:
        check_tls(self)
        return self

    @model_validator(mode="after")
    def _secrets_outside_demo(self) -> Settings:
        if self.mode != "demo":
            missing = [n for n in ("secret_key", "template_key") if getattr(self, n) is None]
            if missing:
                names = ", ".join("OFFICEHUB_" + m.upper() for m in missing)
                raise ValueError(f"{names} must be set outside demo mode (generate with `officehub keygen`)")
            if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("OFFICEHUB_SECRET_KEY must be at least 32 characters")
            if self.broker_url is None:
                # The embedded broker accepts anonymous clients: anyone on the network could read
                # and forge every device's traffic. It is for demos only.
                raise ValueError("OFFICEHUB_BROKER_URL (serve --broker) must be set outside demo mode: the "
                                 "embedded broker accepts anonymous clients; point the hub at Mosquitto with "
                                 "dynamic security (docs/deploy.md), or run `officehub demo`")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        cfg = os.environ.get("OFFICEHUB_CONFIG")
        return (init_settings, env_settings, YamlSource(settings_cls, Path(cfg) if cfg else None))

    # --- derived values ----------------------------------------------------------------------
    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'officehub.db').resolve()}"

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_certfile is not None else "http"
        return self.public_url or f"{scheme}://{self.http_host}:{self.http_port}"

    def secret(self) -> str:
        assert self.secret_key is not None, "load_settings() fills secrets"
        return self.secret_key.get_secret_value()

    def template_key_bytes(self) -> bytes:
        assert self.template_key is not None, "load_settings() fills secrets"
        return base64.b64decode(self.template_key.get_secret_value())


def _demo_secrets(data_dir: Path) -> dict[str, str]:
    """Demo mode: generate secrets once and keep them in data_dir so restarts keep tokens valid."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "demo-secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    values = {
        "secret_key": secrets.token_urlsafe(48),
        "template_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "admin_password": secrets.token_urlsafe(12),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into a readable ConfigError."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**clean)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or '(settings)'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid OfficeHub configuration:\n" + "\n".join(lines)) from exc
    if settings.mode == "demo":
        generated = _demo_secrets(settings.data_dir)
        for name in ("secret_key", "template_key", "admin_password"):
            if getattr(settings, name) is None:
                setattr(settings, name, SecretStr(generated[name]))
    return settings
