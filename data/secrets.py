"""Secrets at rest: mailbox passwords are Fernet-encrypted with a key file kept at mode 0600.

A copy of the database (or of a data dir) reveals the mailbox passwords only together with the
key, so an installation keeps the key outside the data dir: `POSTDESK_KEY_FILE` (for example
/etc/postdesk/secret.key) or a systemd credential (`LoadCredential=postdesk.key:...`, found in
`$CREDENTIALS_DIRECTORY`; see engine/config.py). Without either, the key is created beside the
database (`<data dir>/secret.key`), which suits a demo or a single-person installation.
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
            key = self.key_file.read_bytes().strip()
            try:
                Fernet(key)
            except ValueError as exc:
                raise SecretError(f"{self.key_file} is not a Postdesk key file: {exc}") from exc
            return key
        key = Fernet.generate_key()
        # Written whole under a temporary name, then linked into place: engine nodes started
        # together on one shared key path never read a half-written key, and the one that
        # loses the race uses the winner's.
        tmp = self.key_file.with_name(f".{self.key_file.name}.{os.getpid()}.tmp")
        try:
            self.key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, self.key_file)
            except FileExistsError:
                return self._load_or_create_key()
            except OSError:  # a file system without hard links: create it in place
                fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(key)
            finally:
                os.unlink(tmp)
        except OSError as exc:
            raise SecretError(
                f"no key file at {self.key_file}, and none can be made: {exc}"
            ) from exc
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
                f"cannot decrypt the stored mailbox passwords with the key {self.key_file}: "
                "they were encrypted with another key (a data dir copied or restored without "
                "its key?); restore that key (POSTDESK_KEY_FILE, or the postdesk.key systemd "
                "credential) or enter the campaign's passwords again"
            ) from exc
