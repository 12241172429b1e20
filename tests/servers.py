"""Real mail servers for the test suite: a throwaway Dovecot IMAP server and an SMTP sink.

Postdesk's engine talks IMAP and SMTP to real mail servers, and the subtle bugs (literal
handling, UIDs, flags, folders, reconnects, transient SMTP failures) only show up against a
real server, not against mocks. This module starts:

* ``DovecotServer`` (``start_dovecot``): a private Dovecot 2.3 instance on a free loopback
  port, configured from scratch inside a directory the caller owns (config, runtime sockets,
  state, log, passwd files and maildirs all live there). Fresh users/mailboxes can be created
  in a few milliseconds without restarting the server, and messages can be loaded quickly
  (thousands per second) through IMAP ``MULTIAPPEND``.
* ``SmtpSink`` (``start_smtp_sink``): an aiosmtpd server in a background thread that records
  every accepted message and can be told to reject the next N messages with a given reply.
* ``CertAuthority`` / ``make_test_pki``: a throwaway CA and server certificates (PEM files) so
  both servers can speak TLS: Dovecot with ``start_dovecot(..., tls=...)`` (STARTTLS on the
  imap port plus an implicit-TLS ``imaps_port``), the sink with ``start_smtp_sink(tls=...)``
  (STARTTLS required) or ``start_smtp_sink(tls=..., implicit_tls=True)``.

Dovecot is a hard requirement: if it is missing we raise with installation instructions
rather than skipping, so a missing server never silently turns the suite green.
See ``scripts/ensure-dovecot.sh``.

Notes on running Dovecot as root from a pytest temporary directory:

* pytest creates its temporary directories with mode 0700, so Dovecot's unprivileged
  processes cannot reach absolute paths below them. Therefore the auth process runs as root
  (it reads the passwd files) and mail processes are chrooted into ``<base_dir>/mail``
  (``mail_chroot``); chroot happens before privileges are dropped, so the 0700 ancestors
  do not matter and nothing outside ``base_dir`` is modified.
* Dovecot re-reads a passwd-file at most once per second (``passwd_file_sync`` is gated on
  ``last_sync_time == ioloop_time``), so a user appended to a shared passwd-file can be
  invisible for up to a second. Each user therefore gets its own passwd-file
  (``args = .../users/%u``): the first lookup of a new user always opens a new file.
* The authentication penalty (anvil) and the failed-login delay are disabled so tests of
  wrong passwords do not slow down every later login from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime
import email.policy
import grp
import imaplib
import ipaddress
import itertools
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, Self

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.demo_smtp import ClosingController
from tests.patience import PATIENCE

if TYPE_CHECKING:
    from engine.api.schemas import CampaignIn

LOOPBACK = "127.0.0.1"
DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
INSTALL_HINT = (
    "Postdesk's tests need Dovecot (package dovecot-imapd): "
    "run 'sudo apt-get install dovecot-imapd' or scripts/ensure-dovecot.sh"
)

_USER_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_SMTP_REPLY_RE = re.compile(r"^[45]\d\d ")
_LINE_END_RE = re.compile(rb"\r?\n")
_MESSAGES_RE = re.compile(rb"MESSAGES (\d+)")

# MULTIAPPEND batches: bounded so one command never holds too much in memory on either side.
_APPEND_BATCH_MESSAGES = 500
_APPEND_BATCH_BYTES = 8 * 1024 * 1024


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that was free a moment ago (the kernel picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_dovecot() -> str:
    """Return the path of the ``dovecot`` binary or raise ``RuntimeError`` saying how to get it."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in DOVECOT_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(
        f"Dovecot binary not found (looked on PATH and in /usr/sbin). {INSTALL_HINT}"
    )


# --------------------------------------------------------------------------------------------
# Test PKI
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of one server certificate: what the server loads and what clients trust.

    ``ca_cert`` is the issuing CA's certificate (point ``SSL_CERT_FILE`` at it to make
    ``ssl.create_default_context()`` trust the server); ``cert`` and ``key`` are the server's
    certificate and private key.
    """

    ca_cert: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting this certificate (no client certificates)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only ``ca_cert``."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class CertAuthority:
    """A throwaway certificate authority (ECDSA P-256, valid from yesterday for 30 days).

    Only for tests: the key lives in memory and in the files it writes. Use one CA for the
    servers a test should trust and another one (or a wrong host name) for those it must not.
    """

    def __init__(self, name: str = "Postdesk Test CA") -> None:
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        public = self._key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        directory: Path,
        *,
        dns_names: Sequence[str] = ("localhost",),
        ip_addresses: Sequence[str] = (LOOPBACK,),
        name: str = "server",
    ) -> TlsFiles:
        """Issue a server certificate for the given names; write ``<name>.crt``/``.key`` and
        ``<name>-ca.crt`` (PEM) into ``directory`` (created if needed) and return their paths.
        """
        if not dns_names and not ip_addresses:
            raise ValueError("a server certificate needs at least one name")
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        common_name = dns_names[0] if dns_names else ip_addresses[0]
        san: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        ca_public = self._key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        files = TlsFiles(
            ca_cert=directory / f"{name}-ca.crt",
            cert=directory / f"{name}.crt",
            key=directory / f"{name}.key",
        )
        files.ca_cert.write_bytes(self.pem)
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files.key.touch(mode=0o600)
        files.key.write_bytes(_pem_key(key))
        return files


def make_test_pki(
    directory: Path,
    *,
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = (LOOPBACK,),
    ca_name: str = "Postdesk Test CA",
) -> TlsFiles:
    """A fresh CA and one server certificate (default: ``localhost`` and 127.0.0.1) in PEM."""
    return CertAuthority(ca_name).issue(directory, dns_names=dns_names, ip_addresses=ip_addresses)


# --------------------------------------------------------------------------------------------
# Dovecot IMAP
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mailbox:
    """Credentials of one IMAP account on a test Dovecot server."""

    host: str
    port: int
    user: str
    password: str

    def campaign(
        self, name: str, *, smtp_host: str = LOOPBACK, smtp_port: int = 25, **fields: Any
    ) -> CampaignIn:
        """A campaign that reads this mailbox over plain IMAP and sends over plain SMTP.

        Given no SMTP server (the default loopback:25, where nothing listens), there is no
        login to try: the campaign is saved unchecked (`check=False`); given one (a sink),
        the engine tries both logins on save, as for an admin."""
        from engine.api.schemas import CampaignIn

        no_smtp_server = (smtp_host, smtp_port) == (LOOPBACK, 25)
        fields.setdefault("check", not no_smtp_server)
        return CampaignIn(
            name=name,
            email_address=fields.pop("email_address", "support@postdesk.test"),
            imap_host=self.host,
            imap_port=self.port,
            imap_security="plain",
            imap_username=self.user,
            imap_password=self.password,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            smtp_security="plain",
            **fields,
        )


def _normalize_crlf(raw: bytes) -> bytes:
    """IMAP literals carry CRLF line endings; accept LF-only fixtures too (as imaplib does)."""
    return _LINE_END_RE.sub(b"\r\n", raw)


def _quote_mailbox(name: str) -> str:
    if not name or not name.isascii() or not name.isprintable():
        raise ValueError(f"test folder names must be printable ASCII, got {name!r}")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    typ, data = result
    if typ != "OK":
        raise RuntimeError(f"IMAP {what} failed: {typ} {data!r}")
    return data


@dataclass(frozen=True, slots=True)
class _Identity:
    """Who Dovecot's processes run as, and where mail processes see the mail root."""

    as_root: bool
    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int


def _identity() -> _Identity:
    if os.geteuid() == 0:
        for name in ("dovecot", "mail"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            login_user = "dovenull"
            try:
                pwd.getpwnam(login_user)
            except KeyError:
                login_user = "nobody"
            group = grp.getgrgid(entry.pw_gid).gr_name
            return _Identity(True, name, group, login_user, entry.pw_uid, entry.pw_gid)
        raise RuntimeError(f"no 'dovecot' or 'mail' system user found. {INSTALL_HINT}")
    # Unprivileged: every Dovecot process runs as the current user.
    me = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return _Identity(False, me, group, me, os.geteuid(), os.getegid())


def _dovecot_config(
    base_dir: Path,
    port: int,
    ident: _Identity,
    tls: TlsFiles | None = None,
    imaps_port: int = 0,
    oauth_introspection_url: str | None = None,
) -> str:
    mail_root = base_dir / "mail"
    oauth_mechanisms, oauth_passdb = _oauth_settings(base_dir, oauth_introspection_url)
    if tls is None:
        ssl_settings = "ssl = no"
        imaps_listener = """\
  inet_listener imaps {
    port = 0
  }"""
    else:
        # STARTTLS on the imap port (plaintext login stays allowed for the test helpers) and
        # implicit TLS on the imaps port. The files are read by the config process (as us).
        ssl_settings = f"""\
ssl = yes
ssl_cert = <{tls.cert}
ssl_key = <{tls.key}"""
        imaps_listener = f"""\
  inet_listener imaps {{
    address = {LOOPBACK}
    port = {imaps_port}
    ssl = yes
  }}"""
    if ident.as_root:
        # Mail processes chroot into the mail root (as root, before dropping privileges), so
        # unreadable ancestors such as pytest's 0700 temp dirs are no obstacle.
        mail_settings = f"""\
mail_chroot = {mail_root}
valid_chroot_dirs = {mail_root}
"""
        home = "/%u"
        auth_service = """\
service auth {
  # Reads the passwd files below base_dir, whose ancestors may be root-only (mode 0700).
  user = root
}
"""
        unprivileged_services = ""
    else:
        mail_settings = ""
        home = f"{mail_root}/%u"
        auth_service = ""
        # Without root nothing can chroot.
        unprivileged_services = """\
service anvil {
  chroot =
}
service ipc {
  chroot =
}
service old-stats {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
"""
    return f"""\
# Generated by tests/servers.py for Postdesk's test suite. Do not edit.
protocols = imap
listen = {LOOPBACK}
base_dir = {base_dir / "run"}
state_dir = {base_dir / "state"}
log_path = {base_dir / "dovecot.log"}
info_log_path = {base_dir / "dovecot.log"}
instance_name = postdesk-test-{port}

{ssl_settings}
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth_mechanisms}
auth_failure_delay = 0
auth_cache_size = 0

default_internal_user = {ident.internal_user}
default_internal_group = {ident.internal_group}
default_login_user = {ident.login_user}
first_valid_uid = {ident.mail_uid}
last_valid_uid = {ident.mail_uid}
first_valid_gid = {ident.mail_gid}
last_valid_gid = {ident.mail_gid}

mail_location = maildir:~/Maildir
{mail_settings}
# One passwd-file per user: Dovecot re-reads a changed passwd-file at most once per second,
# but the first lookup of a new path always reads it.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base_dir / "users"}/%u
}}
{oauth_passdb}userdb {{
  driver = static
  args = uid={ident.mail_uid} gid={ident.mail_gid} home={home}
}}

{auth_service}{unprivileged_services}service imap-login {{
  chroot =
  inet_listener imap {{
    address = {LOOPBACK}
    port = {port}
  }}
{imaps_listener}
}}

# No authentication penalty: tests log in with wrong passwords on purpose.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _oauth_settings(base_dir: Path, introspection_url: str | None) -> tuple[str, str]:
    """XOAUTH2/OAUTHBEARER checked by Dovecot's ``oauth2`` passdb (after the passwd-file one,
    so the test helpers still log in with passwords) against an RFC 7662 introspection URL.

    An empty ``tokeninfo_url`` makes Dovecot 2.3 introspect; ``post`` sends ``token=...``.
    A token passed to the passwd-file passdb first simply fails there and falls through."""
    if introspection_url is None:
        return "", ""
    conf = base_dir / "dovecot-oauth2.conf.ext"
    conf.write_text(
        f"""\
introspection_mode = post
introspection_url = {introspection_url}
username_attribute = username
active_attribute = active
active_value = true
"""
    )
    passdb = f"""\
passdb {{
  driver = oauth2
  args = {conf}
}}
"""
    return " xoauth2 oauthbearer", passdb


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _imap_greeting(host: str, port: int, timeout: float) -> bytes | None:
    """Return the first line the server sends, or None if nothing is listening yet."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            data = b""
            while not data.endswith(b"\n") and len(data) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data
    except OSError:
        return None


def _live_group_members(pgid: int) -> list[int]:
    """PIDs of the processes in process group ``pgid`` that are not zombies (Linux /proc)."""
    members: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _stop_process_group(pgid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL, what is left of the process group whose leader has exited.

    The master was started with ``start_new_session=True``, so its pid is the group id of all
    of Dovecot's processes, and Linux does not hand out a pid still used as a group id.
    """
    if not os.path.isdir("/proc"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _live_group_members(pgid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + timeout
        while _live_group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
    if left := _live_group_members(pgid):
        raise RuntimeError(f"Dovecot processes {left} (group {pgid}) survived SIGKILL")


class DovecotServer:
    """A running private Dovecot IMAP server. Create it with ``start_dovecot``."""

    def __init__(
        self,
        *,
        base_dir: Path,
        host: str,
        port: int,
        process: subprocess.Popen[bytes],
        stderr_file: IO[bytes],
        mail_uid: int,
        mail_gid: int,
        tls: TlsFiles | None = None,
        imaps_port: int | None = None,
    ) -> None:
        self.base_dir = base_dir
        self.host = host
        self.port = port
        # With TLS: STARTTLS is offered on ``port`` and implicit TLS is on ``imaps_port``.
        self.tls = tls
        self.imaps_port = imaps_port
        self.config_path = base_dir / "dovecot.conf"
        self.log_path = base_dir / "dovecot.log"
        self.stderr_path = base_dir / "dovecot.stderr"
        self.users_dir = base_dir / "users"
        self.mail_dir = base_dir / "mail"
        self._process = process
        self._stderr_file = stderr_file
        self._mail_uid = mail_uid
        self._mail_gid = mail_gid
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        tls = f" imaps={self.imaps_port}" if self.tls is not None else ""
        return f"<DovecotServer {self.host}:{self.port}{tls} base_dir={self.base_dir}>"

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Dovecot's log (for assertion messages)."""
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = 15.0) -> None:
        """Shut Dovecot down, client sessions included, like a server restart. Idempotent.

        SIGTERM goes to the master; then every process left in its process group (Dovecot
        leaves logged-in ``imap`` session processes running after the master exits, despite
        ``shutdown_clients = yes``, plus its log process) gets SIGTERM, and SIGKILL if still
        there after ``timeout``. So clients see their connections close, as they would when
        a real server stops, and no process outlives the test.
        """
        try:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=timeout)
            _stop_process_group(self._process.pid, timeout)
        finally:
            self._stderr_file.close()

    def kill(self, timeout: float = 15.0) -> None:
        """Crash Dovecot: SIGKILL every process of the instance at once. Idempotent.

        Unlike ``stop`` nobody says goodbye: clients get no ``* BYE``, their connections just
        close (as when a server dies or the host reboots). ``start_dovecot(base_dir,
        port=...)`` brings it back with its data.
        """
        try:
            if self._process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=timeout)
            _stop_process_group(self._process.pid, timeout)
        finally:
            self._stderr_file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- accounts -----------------------------------------------------------------------

    def new_mailbox(self, prefix: str = "cust") -> Mailbox:
        """Create a fresh, empty account (unique user name, random password); no restart needed."""
        if not _USER_PREFIX_RE.match(prefix):
            raise ValueError(f"mailbox prefix must match {_USER_PREFIX_RE.pattern}, got {prefix!r}")
        with self._lock:
            number = next(self._counter)
        user = f"{prefix}-{number:05d}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        home = self.mail_dir / user
        home.mkdir()
        os.chown(home, self._mail_uid, self._mail_gid)
        # Write then rename, so Dovecot never sees a half-written passwd file.
        passwd = self.users_dir / user
        tmp = self.users_dir / f".{user}.tmp"
        tmp.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        tmp.chmod(0o600)
        tmp.replace(passwd)
        return Mailbox(host=self.host, port=self.port, user=user, password=password)

    @contextlib.contextmanager
    def imap(self, mailbox: Mailbox, timeout: float = 30.0) -> Iterator[imaplib.IMAP4]:
        """A logged-in stdlib ``imaplib`` connection, logged out on exit."""
        conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
        try:
            conn.login(mailbox.user, mailbox.password)
            yield conn
        finally:
            try:
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                conn.shutdown()

    # -- content ------------------------------------------------------------------------

    def append(self, mailbox: Mailbox, raw: bytes, folder: str = "INBOX") -> None:
        """APPEND one RFC 5322 message (LF line endings are converted to CRLF)."""
        with self.imap(mailbox) as conn:
            self._ensure_folder(conn, folder)
            _check(conn.append(_quote_mailbox(folder), None, None, raw), f"APPEND to {folder}")

    def append_many(self, mailbox: Mailbox, raws: Sequence[bytes], folder: str = "INBOX") -> None:
        """APPEND many messages over one connection, in order, using pipelined MULTIAPPEND."""
        if not raws:
            return
        with self.imap(mailbox) as conn:
            data = _check(conn.capability(), "CAPABILITY")
            caps = b" ".join(d for d in data if isinstance(d, bytes)).upper().split()
            if b"MULTIAPPEND" not in caps or b"LITERAL+" not in caps:
                raise RuntimeError(f"server lacks MULTIAPPEND/LITERAL+: {caps!r}")
            self._ensure_folder(conn, folder)
            quoted = _quote_mailbox(folder).encode()
            batch: list[bytes] = []
            size = 0
            for number, raw in enumerate(raws, start=1):
                literal = _normalize_crlf(raw)
                batch.append(literal)
                size += len(literal)
                if len(batch) >= _APPEND_BATCH_MESSAGES or size >= _APPEND_BATCH_BYTES:
                    self._multiappend(conn, quoted, batch, tag=f"PDAPPEND{number}")
                    batch, size = [], 0
            if batch:
                self._multiappend(conn, quoted, batch, tag=f"PDAPPEND{len(raws)}")

    def count(self, mailbox: Mailbox, folder: str = "INBOX") -> int:
        """Number of messages in ``folder`` (IMAP STATUS MESSAGES)."""
        with self.imap(mailbox) as conn:
            data = _check(conn.status(_quote_mailbox(folder), "(MESSAGES)"), f"STATUS {folder}")
            for item in data:
                if isinstance(item, bytes) and (match := _MESSAGES_RE.search(item)):
                    return int(match.group(1))
        raise RuntimeError(f"unexpected STATUS reply for {folder}: {data!r}")

    @staticmethod
    def _ensure_folder(conn: imaplib.IMAP4, folder: str) -> None:
        if folder.upper() == "INBOX":
            return
        typ, data = conn.create(_quote_mailbox(folder))
        if typ != "OK" and not any(b"ALREADYEXISTS" in d for d in data if isinstance(d, bytes)):
            raise RuntimeError(f"IMAP CREATE {folder} failed: {typ} {data!r}")

    @staticmethod
    def _multiappend(conn: imaplib.IMAP4, quoted: bytes, literals: list[bytes], tag: str) -> None:
        """One ``APPEND mailbox {n+} msg {n+} msg ...`` command (RFC 3502 + RFC 7888).

        Non-synchronising literals mean no round trip per message; imaplib cannot build this
        command, so it goes through the connection's public ``send``/``readline``.
        """
        parts = [tag.encode(), b" APPEND ", quoted]
        for literal in literals:
            parts += [b" {", str(len(literal)).encode(), b"+}\r\n", literal]
        parts.append(b"\r\n")
        conn.send(b"".join(parts))
        prefix = tag.encode() + b" "
        while True:
            line = conn.readline()
            if not line:
                raise RuntimeError("IMAP server closed the connection during MULTIAPPEND")
            if line.startswith(prefix):
                status = line[len(prefix) :].split(b" ", 1)[0]
                if status != b"OK":
                    raise RuntimeError(f"MULTIAPPEND failed: {line.decode(errors='replace')}")
                return


def start_dovecot(
    base_dir: Path,
    *,
    startup_timeout: float = 15.0,
    tls: TlsFiles | None = None,
    port: int | None = None,
    oauth_introspection_url: str | None = None,
) -> DovecotServer:
    """Start a private Dovecot IMAP server configured inside ``base_dir`` on a free port.

    ``tls``: serve with ``ssl = yes`` (STARTTLS on the imap port) and add an implicit-TLS
    listener on another free port, ``server.imaps_port``. ``port``: bind this imap port instead
    of a free one; with the same ``base_dir`` as a stopped server this restarts it with its
    accounts and mailboxes intact (UIDs and UIDVALIDITY persist in the maildirs).
    ``oauth_introspection_url``: also accept XOAUTH2 and OAUTHBEARER with bearer tokens that
    this RFC 7662 endpoint calls active for the user (tests/oauth_idp.py).

    Raises ``RuntimeError`` if Dovecot is not installed or does not come up, including the
    tail of its log.
    """
    binary = find_dovecot()
    ident = _identity()
    base_dir = base_dir.resolve()
    for sub in ("run", "state", "users"):
        (base_dir / sub).mkdir(parents=True, exist_ok=True)
    (base_dir / "users").chmod(0o700)
    mail_root = base_dir / "mail"
    mail_root.mkdir(exist_ok=True)
    os.chown(mail_root, ident.mail_uid, ident.mail_gid)
    run_dir = base_dir / "run"
    if len(str(run_dir)) > 70:
        # Unix socket paths (run/login/imap-urlauth-worker...) are limited to 108 bytes.
        raise ValueError(f"base_dir too long for Dovecot's unix sockets: {base_dir}")

    last_error = ""
    fixed_port = port
    for attempt in range(3):  # free_port() can race with another process grabbing the port
        if fixed_port is None:
            port = free_port()
        elif attempt:
            time.sleep(0.5)  # our own previous server may still be releasing the port
        assert port is not None
        imaps_port = free_port() if tls is not None else None
        config_path = base_dir / "dovecot.conf"
        config_path.write_text(
            _dovecot_config(base_dir, port, ident, tls, imaps_port or 0, oauth_introspection_url)
        )
        log_path = base_dir / "dovecot.log"
        log_path.unlink(missing_ok=True)
        stderr_file = (base_dir / "dovecot.stderr").open("wb")
        process = subprocess.Popen(
            [binary, "-F", "-c", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=stderr_file,
            stderr=stderr_file,
            cwd=base_dir,
            start_new_session=True,  # Ctrl-C in pytest must not race our own shutdown
        )
        server = DovecotServer(
            base_dir=base_dir,
            host=LOOPBACK,
            port=port,
            process=process,
            stderr_file=stderr_file,
            mail_uid=ident.mail_uid,
            mail_gid=ident.mail_gid,
            tls=tls,
            imaps_port=imaps_port,
        )
        deadline = time.monotonic() + startup_timeout
        greeting: bytes | None = None
        while time.monotonic() < deadline and process.poll() is None:
            greeting = _imap_greeting(LOOPBACK, port, timeout=2.0)
            if greeting is not None:
                break
            time.sleep(0.02)
        # The master binds every listener before it starts serving, so once the imap port
        # greets, the imaps port is listening too.
        if greeting is not None and greeting.startswith(b"* OK") and process.poll() is None:
            return server
        server.stop()
        stderr_text = (base_dir / "dovecot.stderr").read_text(errors="replace").strip()
        last_error = (
            f"Dovecot ({binary}) did not come up on {LOOPBACK}:{port} "
            f"(imaps {imaps_port}) within "
            f"{startup_timeout:.0f}s (exit code {process.returncode}, greeting {greeting!r}).\n"
            f"config: {config_path}\n--- stderr ---\n{stderr_text or '(empty)'}\n"
            f"--- {log_path} (tail) ---\n{_tail(log_path)}"
        )
        if "Address already in use" not in last_error:
            break
    raise RuntimeError(last_error)


# --------------------------------------------------------------------------------------------
# SMTP sink
# --------------------------------------------------------------------------------------------

SmtpStage = Literal["mail", "rcpt", "data"]


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message the sink accepted.

    ``raw`` is the DATA exactly as received (CRLF line endings, dot-unstuffed); ``message`` is
    parsed with ``email.policy.default`` from ``raw`` with CRLF turned into LF, so header and
    body text compare naturally against Python strings. ``tls_version`` is the TLS protocol the
    message arrived over (e.g. ``"TLSv1.3"``, via STARTTLS or implicit TLS), ``None`` if plain.
    """

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(repr=False)
    tls_version: str | None = None
    auth_user: str | None = None  # who logged in with XOAUTH2/OAUTHBEARER (oauth_check sinks)


@dataclass(slots=True)
class _Failure:
    remaining: int
    reply: str
    stage: SmtpStage


class _SinkHandler:
    """aiosmtpd handler: records accepted mail, answers queued failures first."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if (reply := self._sink._take_failure("mail")) is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if (reply := self._sink._take_failure("rcpt")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if (reply := self._sink._take_failure("data")) is not None:
            return reply
        if self._sink.data_delay:
            await asyncio.sleep(self._sink.data_delay)  # a slow server: sending takes time
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        parser = BytesParser(policy=email.policy.default)
        message: EmailMessage = parser.parsebytes(raw.replace(b"\r\n", b"\n"))
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        self._sink._record(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                raw=raw,
                message=message,
                tls_version=ssl_object.version() if ssl_object is not None else None,
                auth_user=session.auth_data if isinstance(session.auth_data, str) else None,
            )
        )
        return "250 2.0.0 OK: queued"


class _PipeliningSinkHandler(_SinkHandler):
    """The sink's handler, offering PIPELINING in its EHLO reply."""

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        return [responses[0], "250-PIPELINING", *responses[1:]]


class _OAuthSinkHandler(_SinkHandler):
    """The sink's handler plus AUTH XOAUTH2 and OAUTHBEARER (RFC 7628), each token checked
    with ``oauth_check`` (the identity provider's introspection rule). A refused token gets
    the providers' answer: a 334 challenge carrying a JSON error, then 535 once the client
    has answered it (XOAUTH2: an empty line; OAUTHBEARER: ``%x01``)."""

    def __init__(self, sink: SmtpSink, oauth_check: Callable[[str], str | None]) -> None:
        super().__init__(sink)
        self._oauth_check = oauth_check

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._bearer(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._bearer(server, args, "OAUTHBEARER")

    async def _bearer(self, server: SMTP, args: list[str], mechanism: str) -> AuthResult:
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(
                    success=False, handled=False, message="501 5.5.2 Cannot decode base64"
                )
        else:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)
            blob = answer
        user, token = _parse_bearer(blob, mechanism)
        owner = self._oauth_check(token) if token else None
        self._sink.auth_attempts.append((mechanism, owner is not None and owner == user))
        if owner is not None and owner == user:
            return AuthResult(success=True, auth_data=user)
        error = {"status": "invalid_token" if mechanism == "OAUTHBEARER" else "401"}
        await server.challenge_auth(json.dumps(error))
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


def _parse_bearer(blob: bytes, mechanism: str) -> tuple[str, str]:
    """(user, token) of an XOAUTH2 or OAUTHBEARER initial response; empty when malformed."""
    text = blob.decode("utf-8", "replace")
    fields = text.split("\x01")
    user = token = ""
    if mechanism == "OAUTHBEARER":
        gs2 = fields[0].split(",")
        for part in gs2[1:]:
            if part.startswith("a="):
                user = part[2:].replace("=2C", ",").replace("=3D", "=")
        fields = fields[1:]
    for item in fields:
        if item.startswith("user="):
            user = item[5:]
        elif item.startswith("auth=Bearer "):
            token = item[len("auth=Bearer ") :]
    return user, token


class SmtpSink:
    """A recording SMTP server on loopback (aiosmtpd in a background thread).

    ``messages`` is a snapshot of everything accepted so far, in arrival order. Use
    ``wait_for`` from synchronous code and ``await_count`` from async tests.

    With ``tls`` the sink presents that certificate: by default it offers STARTTLS and refuses
    mail until the client has used it (530); with ``implicit_tls=True`` the whole connection is
    TLS from the first byte (SMTPS, "tls" in Postdesk's campaign settings).
    """

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int | None = None,
        *,
        tls: TlsFiles | None = None,
        implicit_tls: bool = False,
        smtputf8: bool = True,
        login: tuple[str, str] | None = None,
        oauth_check: Callable[[str], str | None] | None = None,
        pipelining: bool = False,
    ) -> None:
        if implicit_tls and tls is None:
            raise ValueError("implicit_tls needs tls= (the certificate to present)")
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.tls = tls
        self.data_delay = 0.0  # seconds the server waits before accepting each message
        self.implicit_tls = implicit_tls
        self._messages: list[ReceivedMail] = []
        self._failures: list[_Failure] = []
        self._cond = threading.Condition()
        # (mechanism, accepted) of each XOAUTH2/OAUTHBEARER attempt, in order.
        self.auth_attempts: list[tuple[str, bool]] = []
        tls_options: dict[str, object] = {}
        if tls is not None and implicit_tls:
            tls_options["ssl_context"] = tls.server_context()
        elif tls is not None:
            tls_options["tls_context"] = tls.server_context()
            tls_options["require_starttls"] = True
        if login is not None:
            # AUTH PLAIN/LOGIN offered over plain text too (loopback); a wrong password is
            # refused (535). Not required for mail: aiosmtpd warns about that without TLS.
            tls_options["authenticator"] = _Authenticator(*login)
            tls_options["auth_require_tls"] = False
        handler = (
            _SinkHandler(self) if oauth_check is None else _OAuthSinkHandler(self, oauth_check)
        )
        if oauth_check is not None:
            tls_options["auth_require_tls"] = False  # the plain-text tests log in too
        if pipelining:  # offered (RFC 2920); aiosmtpd reads pipelined commands in order
            handler = _PipeliningSinkHandler(self)
        self._controller = ClosingController(
            handler,
            hostname=host,
            port=self.port,
            ready_timeout=10.0,
            enable_SMTPUTF8=smtputf8,
            **tls_options,  # type: ignore[arg-type]
        )
        self._started = False

    @property
    def security(self) -> Literal["plain", "starttls", "tls"]:
        """How clients must connect, in the words of Postdesk's ``smtp_security`` setting."""
        if self.tls is None:
            return "plain"
        return "tls" if self.implicit_tls else "starttls"

    def __repr__(self) -> str:
        return f"<SmtpSink {self.host}:{self.port} {self.security} messages={len(self.messages)}>"

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._controller.start()
        self._started = True

    def stop(self) -> None:
        """Stop the server thread. Idempotent."""
        if self._started:
            self._started = False
            self._controller.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- recorded mail --------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMail]:
        """Snapshot (a new list) of the accepted messages, oldest first."""
        with self._cond:
            return list(self._messages)

    def clear(self) -> None:
        """Forget recorded messages and pending failures."""
        with self._cond:
            self._messages.clear()
            self._failures.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages were accepted; return them all.

        Raises ``TimeoutError``. Do not call this from a running event loop that is itself
        sending the mail; use ``await_count`` there.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout=timeout):
                raise TimeoutError(
                    f"SMTP sink got {len(self._messages)} message(s), wanted {count} "
                    f"within {timeout}s"
                )
            return list(self._messages)

    async def await_count(self, count: int, timeout: float = PATIENCE) -> list[ReceivedMail]:
        """Async ``wait_for``: polls with ``asyncio.sleep`` so the caller's loop keeps running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if len(self._messages) >= count:
                    return list(self._messages)
                got = len(self._messages)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"SMTP sink got {got} message(s), wanted {count} within {timeout}s"
                )
            await asyncio.sleep(0.01)

    # -- behaviour ------------------------------------------------------------------------

    def fail_next(
        self, n: int, reply: str = "450 4.7.1 try later", stage: SmtpStage = "data"
    ) -> None:
        """Answer ``reply`` instead of accepting, for the next ``n`` commands at ``stage``.

        ``stage="data"`` (default) rejects the next ``n`` messages after their content was
        sent (``smtplib.SMTPDataError``); ``"mail"`` rejects ``MAIL FROM`` (the next ``n``
        transactions); ``"rcpt"`` rejects the next ``n`` ``RCPT TO`` commands, i.e. ``n``
        recipients. Queued failures are used in the order they were added, per stage.
        Use a 4xx reply for transient failures and 5xx (e.g. ``"550 5.1.1 no such user"``)
        for permanent ones.
        """
        if n < 1:
            raise ValueError("n must be >= 1")
        if not _SMTP_REPLY_RE.match(reply):
            raise ValueError(f"reply must look like '450 4.7.1 text' (4xx/5xx), got {reply!r}")
        if stage not in ("mail", "rcpt", "data"):
            raise ValueError(f"unknown stage {stage!r}")
        with self._cond:
            self._failures.append(_Failure(n, reply, stage))

    @property
    def pending_failures(self) -> int:
        """How many queued failure replies have not been used yet."""
        with self._cond:
            return sum(f.remaining for f in self._failures)

    def _take_failure(self, stage: SmtpStage) -> str | None:
        with self._cond:
            for failure in self._failures:
                if failure.stage == stage:
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return failure.reply
        return None

    def _record(self, mail: ReceivedMail) -> None:
        with self._cond:
            self._messages.append(mail)
            self._cond.notify_all()


class _Authenticator:
    """aiosmtpd's authenticator: one user name and password."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username.encode()
        self.password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == self.username and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


def start_smtp_sink(
    host: str = LOOPBACK,
    port: int | None = None,
    *,
    tls: TlsFiles | None = None,
    implicit_tls: bool = False,
    smtputf8: bool = True,
    login: tuple[str, str] | None = None,
    oauth_check: Callable[[str], str | None] | None = None,
) -> SmtpSink:
    """Start an ``SmtpSink`` on ``host`` (a free port unless given) and return it.

    ``tls``: require STARTTLS with that certificate; add ``implicit_tls=True`` for SMTPS.
    ``login``: a (user, password) clients must log in with before sending.
    ``oauth_check``: offer AUTH XOAUTH2 and OAUTHBEARER, accepting a token it maps to the user.
    """
    sink = SmtpSink(
        host,
        port,
        tls=tls,
        implicit_tls=implicit_tls,
        smtputf8=smtputf8,
        login=login,
        oauth_check=oauth_check,
    )
    sink.start()
    return sink
