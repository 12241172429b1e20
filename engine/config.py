"""Where the engine keeps its state, from flags, `POSTDESK_*` variables or platformdirs defaults.

One data dir holds everything of one installation: the SQLite database, the blob store, the
runtime socket and (unless told otherwise) the secrets key, so a throwaway demo or test is a
throwaway directory. A real installation keeps the key elsewhere (`key_file`, or a systemd
credential), so that a copy of the data dir does not carry the mailbox passwords' key.

Every field can be set as `POSTDESK_<FIELD>` (e.g. `POSTDESK_POLL_SECONDS=10`); values given
in code or as flags win over the environment. A msgspec struct rather than pydantic-settings:
every console command reads these settings first, and pydantic would add ~200 ms to its start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from socket import gethostname
from typing import Annotated, Any

import msgspec
import platformdirs

ENV_PREFIX = "POSTDESK_"
# The secrets key as a systemd credential (`LoadCredential=postdesk.key:/etc/postdesk/...`):
# systemd hands it to the engine alone, in $CREDENTIALS_DIRECTORY, outside the data dir.
KEY_CREDENTIAL = "postdesk.key"
# A wait between two looks at a mailbox: 0 (or less) would make a mailbox ask its server as
# fast as the network allows.
Seconds = Annotated[float, msgspec.Meta(ge=0.1)]


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("postdesk", appauthor=False))


class SettingsError(ValueError):
    """A `POSTDESK_*` variable whose value does not fit its setting."""


class Settings(msgspec.Struct, kw_only=True):
    home: Path = msgspec.field(default_factory=default_data_dir)
    database_url: str = ""  # empty: SQLite in the data dir
    # Empty: $CREDENTIALS_DIRECTORY/postdesk.key when systemd passes one, else <home>/secret.key
    # (where a copy of the data dir takes the key along with the passwords it protects).
    key_file: Path | None = None
    socket_path: Path | None = None  # empty: <home>/run/engine.sock
    socket_group: str = ""  # OS group given access to the socket (mode 0660)
    poll_seconds: Seconds = 30.0  # IMAP poll interval when the server lacks IDLE
    idle_seconds: Seconds = 25 * 60.0  # re-issue IDLE before servers drop it (RFC 2177: 29 min)
    # The longest a mailbox waits in IDLE before it looks for new mail itself: a server can
    # miss a push (Dovecot then waits for its own 30 s check), and a connection a NAT dropped
    # in silence tells nothing until a command goes unanswered.
    idle_check_seconds: Seconds = 60.0
    outbox_retry_base: float = 30.0
    # An empty line on a console's event stream after this long without sending it anything;
    # the hello tells the console, which gives the engine up after 1.5 times as long (5 s more
    # at least).
    event_heartbeat: float = 20.0
    max_attachment_bytes: int = 25 * 1024 * 1024  # per file an agent attaches
    max_list_bytes: int = 512 * 1024 * 1024  # per dialer list CSV upload (streamed to disk)
    # A list upload from this size up (~40,000 rows) is checked in a process of its own, on
    # another core, while the engine stores the rows (engine/services/dialer/import_check.py).
    list_check_process_bytes: int = 4 * 1024 * 1024
    # The control API: complete request headers must arrive this soon after a connection is
    # accepted (or its last answer sent), and one OS user holds at most this many connections.
    header_timeout: float = 5.0
    max_connections_per_uid: int = 64
    # Per attachment of received mail. A larger one is not stored as a blob of its own: it
    # stays in the raw message (always kept) and is listed as over the limit.
    max_inbound_attachment_bytes: int = 50 * 1024 * 1024
    # This engine among those sharing a database (empty: host name and data dir). Each renews
    # its consoles' presence every `presence_beat` seconds; one silent for three beats is gone.
    node_name: str = ""
    presence_beat: float = 10.0
    # Blobs (raw mail, attachments): on PostgreSQL they are kept in the database, which every
    # node reads; a directory every node mounts (NFS, ...) keeps them as files there instead.
    # Empty on SQLite: <home>/blobs. See docs/deploy.md ("Several engine nodes").
    shared_blob_dir: Path | None = None
    # The public web service (`postdesk web`): rating pages, tracking image, unsubscribe.
    # `web_bind` is where it listens (host:port); `web_base_url` is how customers reach it,
    # the start of every link put in mail (https://feedback.example.com behind a TLS proxy;
    # empty: http://<web_bind>, fine for a demo only). Several processes may serve one base
    # URL behind a reverse proxy; each limits a client address to `web_rate` requests per
    # second with bursts of `web_burst`. The client address is the peer's, or the last one in
    # X-Forwarded-For when the peer is one of `web_trusted_proxies` (comma-separated IPs).
    web_bind: str = "127.0.0.1:8025"
    web_base_url: str = ""
    web_rate: float = 5.0
    web_burst: int = 20
    web_trusted_proxies: str = ""
    # OAuth2 mailboxes (docs/oauth.md): the application registered once per installation with
    # each provider; campaigns choose the provider. Google's "TVs and limited input devices"
    # clients have a secret; Microsoft's public clients have none. `custom`: any other
    # provider whose endpoints a campaign types in.
    oauth_google_client_id: str = ""
    oauth_google_client_secret: str = ""
    oauth_microsoft_client_id: str = ""
    oauth_microsoft_client_secret: str = ""
    oauth_custom_client_id: str = ""
    oauth_custom_client_secret: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any) -> Settings:
        """Settings from `POSTDESK_*` variables, with `given` values taking precedence."""
        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        for name in cls.__struct_fields__:
            variable = ENV_PREFIX + name.upper()
            if name not in given and env.get(variable, "") != "":
                data[name] = env[variable]
        try:
            loaded = msgspec.convert(data, cls, strict=False, dec_hook=_path)
        except msgspec.ValidationError as exc:
            message, _, where = str(exc).rpartition(" - at `$.")
            name = where.rstrip("`")
            raise SettingsError(
                f"{ENV_PREFIX}{name.upper()}={data.get(name)!r}: {message.lower()}"
            ) from exc
        settings = msgspec.structs.replace(loaded, **given)
        settings.web_host_port  # noqa: B018 - a malformed POSTDESK_WEB_BIND stops the command
        if settings.key_file is None and (credentials := env.get("CREDENTIALS_DIRECTORY")):
            credential = Path(credentials) / KEY_CREDENTIAL
            if credential.is_file():
                settings = msgspec.structs.replace(settings, key_file=credential)
        return settings

    @property
    def node(self) -> str:
        return self.node_name or f"{gethostname()}:{self.home}"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'postdesk.db'}"

    @property
    def socket(self) -> Path:
        return self.socket_path or self.home / "run" / "engine.sock"

    @property
    def key(self) -> Path:
        return self.key_file or self.home / "secret.key"

    @property
    def web_host_port(self) -> tuple[str, int]:
        """`web_bind` split; `[::1]:8025` for IPv6. A malformed value is a SettingsError."""
        host, _, port = self.web_bind.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"{ENV_PREFIX}WEB_BIND={self.web_bind!r}: give host:port")
        return host.strip("[]"), int(port)

    @property
    def web_url(self) -> str:
        """The public base URL of the web service, without a trailing slash."""
        if self.web_base_url:
            return self.web_base_url.rstrip("/")
        host, port = self.web_host_port
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    @property
    def blob_dir(self) -> Path:
        """Where blob files are: the shared directory if set, else the data dir's."""
        return self.shared_blob_dir or self.home / "blobs"


def _path(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value).expanduser()
    raise NotImplementedError(f"no conversion to {kind}")  # msgspec's "not mine" for a dec_hook


def settings_for(data_dir: Path | None) -> Settings:
    if data_dir is None:
        return Settings.from_env()
    return Settings.from_env(home=data_dir.expanduser())  # `--data-dir=~/x` escapes the shell
