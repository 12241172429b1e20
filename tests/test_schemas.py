"""The wire schemas and the engine settings: what a person sees when input does not fit.

The engine refuses a request body with the message a form or `postdesk ctl` shows, so the
message names the field first (forms put it under that field) and says the problem in words.
Settings come from `POSTDESK_*` variables; a bad one stops the command with its name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.api.schemas import (
    CampaignIn,
    CampaignPatch,
    ForwardIn,
    Hello,
    InteractionChanged,
    NewInteractionIn,
    RenderIn,
    SchemaError,
    UserIn,
    decode,
    decode_event,
    encode,
)
from engine.config import Settings, SettingsError
from tests.cli_helpers import cli_env, postdesk_script

CAMPAIGN = b'"name": "Support", "email_address": "support@example.com"'
NEW = b'{"campaign": "Support", "to": "ana@example.com", "subject": '


def refusal(body: bytes, schema: type[object]) -> str:
    with pytest.raises(SchemaError) as caught:
        decode(body, schema)
    return str(caught.value)


@pytest.mark.parametrize(
    ("body", "schema", "message"),
    [
        (b'{"to": "ab"}', ForwardIn, "to: must be at least 3 characters"),
        (b'{"name": ""}', CampaignIn, "name: must be at least 1 character"),
        (b"{" + CAMPAIGN + b', "imap_port": 0}', CampaignIn, "imap_port: must be at least 1"),
        (b"{" + CAMPAIGN + b', "imap_port": 70000}', CampaignIn, "imap_port: must be at most"),
        (b"{" + CAMPAIGN + b', "imap_port": "x"}', CampaignIn, "imap_port: must be a whole"),
        (b"{" + CAMPAIGN + b', "enabled": 3}', CampaignIn, "enabled: must be true or false"),
        (b"{" + CAMPAIGN + b', "colour": 3}', CampaignIn, "colour: unknown field"),
        (b"{" + CAMPAIGN + b', "inbound": "pop3"}', CampaignIn, "inbound: 'pop3' is not one"),
        (b'{"name": "Support"}', CampaignIn, "email_address: required"),
        (b'{"username": "x", "roles": ["god"]}', UserIn, "roles.0: 'god' is not one"),
        (b'{"username": "Ana"}', UserIn, "username: must be a login name"),
        (b'{"username": "ana\\n"}', UserIn, "username: must be a login name"),  # `$` would pass it
        (b'{"service_level_seconds": "soon"}', CampaignPatch, "service_level_seconds: must be"),
        (b'{"name": "Support"', CampaignIn, "body: not valid JSON"),
        (b'{"from_name": "x\\r\\nBcc: v@x"}', CampaignPatch, "from_name: must be one line"),
        (NEW + b'"a\\u0085b"}', NewInteractionIn, "subject: must be one line of text"),
        (b'{"template_id": 9223372036854775808}', RenderIn, "template_id: must be at most"),
    ],
)
def test_a_refused_body_names_its_field_in_words(
    body: bytes, schema: type[object], message: str
) -> None:
    said = refusal(body, schema)
    assert said.startswith(message), said
    assert "`$." not in said  # msgspec's own path syntax is translated


def test_a_patch_sends_only_what_changes() -> None:
    assert encode(CampaignPatch(enabled=False, signature_template="")) == (
        b'{"enabled":false,"signature_template":""}'
    )
    assert decode(b'{"enabled": false}', CampaignPatch) == CampaignPatch(enabled=False)


def test_events_decode_to_their_kind_by_type() -> None:
    assert decode_event(encode(Hello(username="ana"))) == Hello(username="ana")
    assert b'"type":"hello"' in encode(Hello(username="ana"))
    with pytest.raises(SchemaError, match="interaction: required"):
        decode_event(b'{"type": "interaction"}')
    with pytest.raises(SchemaError):
        decode_event(b'{"type": "spy", "username": "ana"}')
    assert InteractionChanged.__struct_config__.tag == "interaction"


def test_settings_come_from_the_environment_and_given_values_win(tmp_path: Path) -> None:
    env = {
        "POSTDESK_HOME": str(tmp_path / "from-env"),
        "POSTDESK_POLL_SECONDS": "7.5",
        "POSTDESK_MAX_ATTACHMENT_BYTES": "1000",
        "POSTDESK_KEY_FILE": "~/postdesk.key",
        "POSTDESK_SOCKET_GROUP": "",  # empty: as if unset
    }
    settings = Settings.from_env(env, home=tmp_path / "given")
    assert settings.home == tmp_path / "given"
    assert settings.poll_seconds == 7.5
    assert settings.max_attachment_bytes == 1000
    assert settings.key == Path("~/postdesk.key").expanduser()
    assert settings.socket == tmp_path / "given" / "run" / "engine.sock"
    assert settings.socket_group == ""
    assert Settings.from_env({}).home == Settings().home


def test_a_bad_setting_is_named_and_stops_the_command(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="POSTDESK_MAX_ATTACHMENT_BYTES='lots'"):
        Settings.from_env({"POSTDESK_MAX_ATTACHMENT_BYTES": "lots"})
    proc = subprocess.run(
        [str(postdesk_script()), "--data-dir", str(tmp_path), "ctl", "user", "list"],
        env=cli_env(POSTDESK_POLL_SECONDS="often"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("postdesk: POSTDESK_POLL_SECONDS='often': expected"), proc.stderr


def test_a_wait_between_looks_at_a_mailbox_cannot_be_zero() -> None:
    for name in ("POLL_SECONDS", "IDLE_SECONDS", "IDLE_CHECK_SECONDS"):
        with pytest.raises(SettingsError, match=f"POSTDESK_{name}='0': expected `float` >= 0.1"):
            Settings.from_env({f"POSTDESK_{name}": "0"})
    assert Settings.from_env({"POSTDESK_IDLE_CHECK_SECONDS": "5"}).idle_check_seconds == 5.0
