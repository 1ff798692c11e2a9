"""Who a target rings, and as what, decided without I/O from the facts the service read."""

from __future__ import annotations

import pytest
from callpad.domain import ErrorCode, Forbidden, Invalid, Invitee, ParticipantKind, Role
from callpad.domain.targets import (
    ContactCard,
    contact_invitee,
    customer_invitee,
    member_invitee,
    phone_invitee,
    require_member_caller,
)

CUSTOMER, AGENT = 7, 42


def test_anyone_rings_a_member_as_an_agent_but_not_a_stranger_nor_themselves() -> None:
    rung = member_invitee("acme", CUSTOMER, AGENT, is_member=True)
    assert rung == Invitee(ParticipantKind.USER, Role.AGENT, user_id=AGENT, member=True)
    with pytest.raises(Invalid, match="User 99 is not a member of 'acme'") as stranger:
        member_invitee("acme", CUSTOMER, 99, is_member=False)
    with pytest.raises(Invalid, match="cannot call yourself") as themselves:
        member_invitee("acme", AGENT, AGENT, is_member=True)
    assert stranger.value.code == themselves.value.code == ErrorCode.INVALID_TARGET


def test_only_members_ring_customers_contacts_and_phones() -> None:
    require_member_caller("acme", "phone", caller_is_member=True)
    with pytest.raises(Forbidden, match="Only members of 'acme' may call a phone target") as no:
        require_member_caller("acme", "phone", caller_is_member=False)
    assert no.value.code is ErrorCode.TARGET_NOT_ALLOWED


def test_a_customer_is_rung_in_their_app_and_keeps_their_membership() -> None:
    rung = customer_invitee(AGENT, 43, is_member=True)
    assert (rung.role, rung.user_id, rung.member) == (Role.CUSTOMER, 43, True)
    with pytest.raises(Invalid, match="cannot call yourself"):
        customer_invitee(AGENT, AGENT, is_member=True)


def test_a_contact_rings_its_user_else_dials_its_phone() -> None:
    app = contact_invitee(ContactCard("con_1", 7, "+12025550100"), user_is_member=False)
    assert (app.kind, app.user_id, app.phone, app.contact_id) == (
        ParticipantKind.USER,
        7,
        None,
        "con_1",
    )
    dialled = contact_invitee(ContactCard("con_2", None, "+12025550100"), user_is_member=False)
    assert (dialled.kind, dialled.role, dialled.phone) == (
        ParticipantKind.PHONE,
        Role.GUEST,
        "+12025550100",
    )
    with pytest.raises(Invalid, match="no phone or user"):
        contact_invitee(ContactCard("con_3", None, None), user_is_member=False)


def test_a_phone_number_is_dialled_as_a_guest() -> None:
    assert phone_invitee("+12025550100") == Invitee(
        ParticipantKind.PHONE, Role.GUEST, phone="+12025550100"
    )
