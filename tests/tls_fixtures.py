"""Certificates from a throwaway CA, and an engine that trusts only that CA.

Shared by the TLS tests of the mailboxes and the outbox (`test_tls.py`) and of the dialer's
own SMTP client (`test_dialer_tls.py`), so neither test module imports the other. The
engine builds its contexts with ``ssl.create_default_context()``, which reads
``SSL_CERT_FILE`` on every call: pointing it at the test CA is all it takes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.services.outbound.outbox import tls_context
from tests.engine_fixtures import engine_settings
from tests.servers import CertAuthority, TlsFiles

TEST_CA = "Postdesk Test CA"


@dataclass(frozen=True)
class Pki:
    trusted: TlsFiles  # localhost + 127.0.0.1, issued by the CA the engine is told to trust
    rogue: TlsFiles  # the same names, issued by a CA nobody trusts
    wrong_host: TlsFiles  # issued by the trusted CA, but only for mail.example.org


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("pki")
    ca = CertAuthority(TEST_CA)
    return Pki(
        trusted=ca.issue(base, name="trusted"),
        rogue=CertAuthority("Rogue CA").issue(base, name="rogue"),
        wrong_host=ca.issue(
            base, dns_names=("mail.example.org",), ip_addresses=(), name="wrong-host"
        ),
    )


@pytest.fixture
def trust_test_ca(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``ssl.create_default_context()`` (hence the engine) trust only the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.trusted.ca_cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    # The engine's own context factory picks the variable up (it is read on every call).
    subjects = [cert["subject"] for cert in tls_context(True).get_ca_certs()]
    assert subjects == [((("commonName", TEST_CA),),)]
    return pki.trusted.ca_cert


@pytest.fixture
async def engine(trust_test_ca: Path, tmp_path: Path) -> AsyncIterator[Engine]:
    """The engine of tests/engine_fixtures.py, started only once the test CA is trusted."""
    eng = Engine(engine_settings(tmp_path / "home"))
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()
