"""A refusal names the field it is about in a field of its own, and a clash is a Conflict.

Forms place an error under its field from `error.field`, instead of reading the message's
first word; `ctl` and scripts can do the same with the JSON's `field`.
"""

from __future__ import annotations

import pytest

from engine.api.schemas import CampaignIn, CampaignPatch, UserIn
from engine.client import Conflict, EngineClient, Invalid
from engine.engine import Engine
from engine.errors import Invalid as EngineInvalid


async def test_a_refusal_carries_its_field_and_a_clash_is_a_conflict(
    engine: Engine, operator: EngineClient
) -> None:
    await operator.add_user(UserIn(username="ana", roles=["agent"]))
    with pytest.raises(Conflict) as clash:
        await operator.add_user(UserIn(username="ana", roles=["agent"]))
    assert clash.value.status == 409
    assert isinstance(clash.value, Invalid)  # a refused request, as before
    assert clash.value.field == "username"  # the user form puts it under Login
    with pytest.raises(Invalid) as refused:
        await operator.set_break_reasons(["Lunch", "", "Coffee"])
    assert refused.value.field == "reasons.1"  # the second line of the list

    await operator.add_campaign(
        CampaignIn(
            name="Support",
            email_address="support@example.com",
            smtp_host="127.0.0.1",
            receive_emails=False,
            check=False,  # no SMTP server here: nothing is sent from it
        )
    )
    with pytest.raises(Conflict) as clash:
        await operator.add_campaign(
            CampaignIn(
                name="Support",
                email_address="b@example.com",
                smtp_host="127.0.0.1",
                receive_emails=False,
            )
        )
    assert clash.value.field == "name"
    with pytest.raises(Invalid) as refused:
        await operator.update_campaign("Support", CampaignPatch(from_name="Desk\r\nBcc: x@y.z"))
    assert refused.value.field == "from_name"
    with pytest.raises(Invalid) as refused:
        await operator.update_campaign("Support", CampaignPatch(email_address="abc"))
    assert refused.value.field == "email_address"


def test_an_engine_error_names_its_field_given_or_leading() -> None:
    assert EngineInvalid("email_address: invalid address: 'abc'").field == "email_address"
    assert EngineInvalid("attachment_ids.0: must be at least 1").field == "attachment_ids.0"
    assert EngineInvalid("the campaign is not yours", field="campaign").field == "campaign"
    assert EngineInvalid("no template 7").field is None
    assert EngineInvalid("Re: something odd").field is None
