"""Secrets at rest: mailbox passwords are Fernet-encrypted with a key file kept at mode 0600.

The key lives in the config dir, apart from the database, so a copied database alone does not
reveal the passwords of the campaigns' mailboxes.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretError(RuntimeError):
    pass


class SecretBox:
    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._fernet = Fernet(self._load_or_create_key())

    def _load_or_create_key(self) -> bytes:
        if self.key_file.exists():
            mode = self.key_file.stat().st_mode & 0o777
            if mode & 0o077:
                raise SecretError(
                    f"key file {self.key_file} is readable by others (mode {mode:o}); "
                    f"run: chmod 600 {self.key_file}"
                )
            return self.key_file.read_bytes().strip()
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, token: bytes | None) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise SecretError(
                f"cannot decrypt a stored secret with {self.key_file}: wrong key file?"
            ) from exc
