"""Where the engine keeps its state, from flags, `POSTDESK_*` variables or platformdirs defaults.

One data dir holds everything of one installation: the SQLite database, the blob store, the
runtime socket and (unless told otherwise) the secrets key, so a throwaway demo or test is a
throwaway directory.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("postdesk", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTDESK_", extra="ignore")

    home: Path = Field(default_factory=default_data_dir)
    database_url: str = ""  # empty: SQLite in the data dir
    key_file: Path | None = None  # empty: <home>/secret.key
    socket_path: Path | None = None  # empty: <home>/run/engine.sock
    socket_group: str = ""  # OS group given access to the socket (mode 0660)
    poll_seconds: float = 30.0  # IMAP poll interval when the server lacks IDLE
    idle_seconds: float = 25 * 60.0  # re-issue IDLE before servers drop it (RFC 2177: 29 min)
    outbox_retry_base: float = 30.0
    max_attachment_bytes: int = 25 * 1024 * 1024  # per file an agent attaches
    # Per attachment of received mail. A larger one is not stored as a blob of its own: it
    # stays in the raw message (always kept) and is listed as over the limit.
    max_inbound_attachment_bytes: int = 50 * 1024 * 1024

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
    def blob_dir(self) -> Path:
        return self.home / "blobs"


def settings_for(data_dir: Path | None) -> Settings:
    return Settings(home=data_dir) if data_dir is not None else Settings()
