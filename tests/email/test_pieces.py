"""The channel's small public pieces: reply addresses and tokens, subjects to titles, Outlook's Thread-Index."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from adapters.email.addresses import mail_domains, recipient, reply_address, token
from adapters.email.inbound import clean_subject
from adapters.email.parse import read_mail
from adapters.email.threads import message_id, thread_index
from bot.config import AppConfig

KEY = b"k" * 32


def test_a_reply_address_names_its_request_only_with_the_right_token(config: AppConfig) -> None:
    it = config.zones[1].model_copy(update={"email": "it@nordlys.example"})
    cfg = config.model_copy(update={"zones": (config.zones[0], it, *config.zones[2:])})
    address = reply_address(KEY, "it@nordlys.example", 42)
    assert address.startswith("it+r42-") and address.endswith("@nordlys.example")
    found = recipient(cfg, KEY, address.upper())  # mail systems may change the case
    assert found is not None and (found.zone.id, found.number) == ("it", 42)
    assert recipient(cfg, KEY, address.replace("r42", "r43")).number is None  # type: ignore[union-attr]
    assert recipient(cfg, b"another-server-key-0123456789abcd", address).number is None  # type: ignore[union-attr]
    assert recipient(cfg, KEY, "it+whatever@nordlys.example").number is None  # type: ignore[union-attr]
    assert recipient(cfg, KEY, "it@elsewhere.example") is None
    assert token(KEY, "it@nordlys.example", 42) != token(KEY, "hr@nordlys.example", 42)
    assert "nordlys.example" in mail_domains(cfg)


@pytest.mark.parametrize(("subject", "title"), [
    ("Re: [#42] Printer jams", "Printer jams"),
    ("RE: AW: Fwd: [#42] Printer jams", "Printer jams"),
    ("SV: Sv: Printer", "Printer"),
    ("Re[2]: Hello", "Hello"),
    ("[#1][#2]", ""),
])
def test_subjects_become_titles(subject: str, title: str) -> None:
    assert clean_subject(subject) == title


def test_thread_index_groups_a_conversation_for_outlook() -> None:
    root_at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    first = base64.b64decode(thread_index("<a@b>", root_at, root_at))
    later = base64.b64decode(thread_index("<a@b>", root_at + timedelta(hours=2), root_at))
    other = base64.b64decode(thread_index("<c@d>", root_at, root_at))
    assert len(first) == 22 and len(later) == 27 and first[0] == 1
    assert later[:22] == first  # the same conversation
    assert other[6:22] != first[6:22]  # another conversation, another GUID


def test_our_message_ids_are_stable_and_recognised_as_ours() -> None:
    mid = message_id("desk.nordlys.example", "outbox:7:3")
    assert mid == message_id("desk.nordlys.example", "outbox:7:3") != message_id("desk.nordlys.example", "outbox:8:3")
    raw = f"From: x@nordlys.example\r\nMessage-ID: {mid}\r\nSubject: hi\r\n\r\nbody".encode()
    assert read_mail(raw, own_domains=("desk.nordlys.example",)).automatic == "our own Message-ID"
    assert read_mail(raw).automatic is None


def test_signatures_and_quotes_are_cut_from_a_reply() -> None:
    raw = (b"From: zack@nordlys.example\r\nSubject: Re: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Works now, thanks!\r\n\r\nOn Tue, 24 Nov 2026 at 09:00, IT <it@nordlys.example> wrote:\r\n"
           b"> Try again.\r\n> \r\n")
    mail = read_mail(raw)
    assert mail.reply_text == "Works now, thanks!"
    assert "Try again." in mail.text
