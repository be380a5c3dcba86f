"""The history in words: a sentence for every event kind with old and new values, and its audience;
requesters read only the events meant for them, without the reasons agents typed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import adapters.email.inbound  # noqa: F401  (the e-mail channel registers its sentences)
from bot.access import SYSTEM_EMAIL
from bot.config import AppConfig
from bot.desk import WEB, EventView
from bot.desk.history import REQUESTER, SENTENCES, STAFF, Audience, Words, sentence
from bot.server import Services

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ZACK, ALEXIS, IVAR = "zack@nordlys.example", "alexis.baker@nordlys.example", "ivar.lund@nordlys.example"
FRIDA, SIRI, MARTE = "frida.dahl@nordlys.example", "siri.nilsen@nordlys.example", "marte.viken@nordlys.example"
NAMES = {ZACK: "Zack", ALEXIS: "Alexis B.", IVAR: "Ivar", FRIDA: "Frida", SIRI: "Siri", MARTE: "Marte",
         SYSTEM_EMAIL: "Zonedesk"}  # names as recorded; app.yaml's names win where it has the person

# (kind, data, actor, channel, what staff read, what the requester reads: None when it is staff-only)
ROWS: list[tuple[str, dict[str, Any], str, str, str, str | None]] = [
    ("filed", {"zone": "it", "team": "it-support", "category": "software-access", "title": "Figma",
               "on_behalf": False, "form": "software-access"}, ZACK, "web",
     "Zack filed it with IT, category Software access.", "same"),
    ("filed", {"zone": "it", "on_behalf": True}, ALEXIS, "web", "Alexis Baker filed it for Zack with IT.", "same"),
    ("replied", {"comment": 3}, ALEXIS, "web", "Alexis Baker replied to the requester.", "same"),
    ("replied", {"comment": 4, "in_thread": True}, ALEXIS, "slack",
     "Alexis Baker replied to the requester in the chat thread.", "same"),
    ("noted", {"comment": 5}, ALEXIS, "web", "Alexis Baker added an internal note.", None),
    ("commented", {"comment": 6, "status": None}, ZACK, "slack", "Zack answered.", "same"),
    ("commented", {"comment": 7, "status": "in_progress"}, ZACK, "web",
     "Zack answered. It moved from Waiting on requester to In progress.", "same"),
    ("claimed", {"previous": None, "status": "assigned"}, ALEXIS, "web", "Alexis Baker took it.", "same"),
    ("claimed", {"previous": IVAR, "status": "assigned"}, ALEXIS, "web", "Alexis Baker took it over from Ivar Lund.",
     "same"),
    ("assigned", {"assignee": IVAR, "previous": None}, ALEXIS, "web", "Alexis Baker assigned it to Ivar Lund.",
     "same"),
    ("assigned", {"assignee": IVAR, "previous": ALEXIS}, FRIDA, "teams",
     "Frida Dahl assigned it from Alexis Baker to Ivar Lund.", "same"),
    ("accepted", {}, IVAR, "web", "Ivar Lund accepted it.", "same"),
    ("status", {"previous": "new", "status": "waiting", "reason": "requester"}, ALEXIS, "web",
     "Alexis Baker moved it from New to Waiting on requester.", "same"),
    ("status", {"previous": "in_progress", "status": "waiting", "reason": "task"}, ALEXIS, "web",
     "Alexis Baker moved it from In progress to Waiting on a task.", "same"),
    ("status", {"previous": "in_progress", "status": "resolved", "reason": None, "note": "Replaced the fan."},
     ALEXIS, "web", "Alexis Baker moved it from In progress to Resolved: Replaced the fan.", "same"),
    ("status", {"status": "resolved"}, ALEXIS, "seed", "Alexis Baker moved it to Resolved.", "same"),
    ("status", {"previous": "resolved", "status": "closed", "reason": None}, SYSTEM_EMAIL, "scheduler",
     "Zonedesk closed it: nobody said it was not solved.", "same"),
    ("status", {"previous": "resolved", "status": "closed", "reason": None}, ZACK, "slack",
     "Zack moved it from Resolved to Closed.", "same"),
    ("status", {"previous": "new", "status": "cancelled", "reason": "duplicate of #3"}, ALEXIS, "web",
     "Alexis Baker cancelled it: duplicate of #3.", "Alexis Baker cancelled it."),
    ("status", {"previous": "new", "status": "cancelled", "reason": "found it"}, ZACK, "web",
     "Zack cancelled it: found it.", "same"),  # the requester's own reason
    ("status", {"previous": "closed", "status": "reopened", "reason": None}, ZACK, "web", "Zack reopened it.", "same"),
    ("urgency", {"previous": "normal", "urgency": "high", "priority": "high"}, ZACK, "web",
     "Zack changed the urgency from Normal to High; the priority is High.", "same"),
    ("weight", {"previous": None, "weight": "high", "priority": "high"}, ALEXIS, "web",
     "Alexis Baker set the weight to High; the priority is High.", None),
    ("category", {"previous": None, "category": "laptop", "priority": "normal"}, ALEXIS, "web",
     "Alexis Baker set the category to Laptop; the priority is Normal.", "same"),
    ("category", {"previous": "laptop", "category": "peripherals", "priority": "normal"}, ALEXIS, "web",
     "Alexis Baker changed the category from Laptop to Screens and peripherals; the priority is Normal.", "same"),
    ("category", {"previous": "laptop", "category": None, "priority": "normal"}, ALEXIS, "web",
     "Alexis Baker removed the category Laptop; the priority is Normal.", "same"),
    ("internal_category", {"previous": None, "internal": "service-request", "priority": "normal"}, ALEXIS, "web",
     "Alexis Baker set the internal category to Service request; the priority is Normal.", None),
    ("deadline", {"previous": None, "deadline": "2026-12-11T15:00:00+00:00"}, ALEXIS, "web",
     "Alexis Baker set the deadline to 11 December 2026 16:00.", "same"),  # Oslo time, the zone's calendar
    ("deadline", {"previous": "2026-12-11T15:00:00+00:00", "deadline": None}, ALEXIS, "web",
     "Alexis Baker removed the deadline 11 December 2026 16:00.", "same"),
    ("related", {"other": 7}, ALEXIS, "web", "Alexis Baker related it to #7.", None),
    ("unrelated", {"other": 7}, ALEXIS, "web", "Alexis Baker removed its relation to #7.", None),
    ("transferred", {"source": "it", "target": "facilities", "category": "repairs", "reason": "a desk, not IT"},
     ALEXIS, "web", "Alexis Baker transferred it from IT to Facilities, category Repairs: a desk, not IT.",
     "Alexis Baker transferred it from IT to Facilities, category Repairs."),
    ("task_created", {"task": 2, "zone": "facilities", "team": None, "agent": None, "title": "Move the desk"},
     ALEXIS, "web", "Alexis Baker asked Facilities for task T2: Move the desk.", None),
    ("task_created", {"task": 3, "zone": "finance", "team": "payroll", "agent": None, "title": "Approve cost"},
     ALEXIS, "web", "Alexis Baker asked Payroll for task T3: Approve cost.", None),
    ("task_created", {"task": 4, "zone": "it", "team": None, "agent": IVAR, "title": "Image it"},
     ALEXIS, "web", "Alexis Baker asked Ivar Lund for task T4: Image it.", None),
    ("task_done", {"task": 2, "outcome": "Moved on Friday"}, SIRI, "web",
     "Siri Nilsen marked task T2 done: Moved on Friday.", None),
    ("approval_requested", {"approval": 1, "approvers": [MARTE], "mode": "any", "ordered": False,
                            "previous": "new"}, ALEXIS, "web", "Alexis Baker asked Marte Viken for approval.", "same"),
    ("approval_requested", {"approval": 1, "approvers": [MARTE, IVAR], "mode": "all", "ordered": True},
     ALEXIS, "web", "Alexis Baker asked Marte Viken and Ivar Lund (in that order) for approval.", "same"),
    ("approval_requested", {"approval": 1, "approvers": [MARTE, IVAR, "kim@partner.example"],
                            "names": ["Marte Viken", "Ivar Lund", "Kim Berg"], "mode": "any"},
     ALEXIS, "web", "Alexis Baker asked Marte Viken, Ivar Lund or Kim Berg for approval.", "same"),
    ("approval_vote", {"approval": 1, "decision": "approved", "comment": "Welcome aboard"}, MARTE, "slack",
     "Marte Viken approved: Welcome aboard.", "Marte Viken approved."),
    ("approval_decided", {"approval": 1, "outcome": "rejected", "status": "in_progress"}, MARTE, "slack",
     "The approval was rejected. The request is In progress again.", "same"),
    ("approval_decided", {"approval": 1, "outcome": "approved", "status": "new", "decided_by": MARTE,
                          "decided_by_name": "Marte Viken", "comment": "Fine"}, MARTE, "teams",
     "The approval was approved by Marte Viken: Fine. The request is New again.", "same"),
    ("approval_withdrawn", {"approval": 1, "reason": "request #4 was cancelled", "waiting": ["Marte Viken"]},
     ZACK, "web", "The approval was withdrawn because request #4 was cancelled (Marte Viken had not decided).",
     "The approval was withdrawn because request #4 was cancelled."),
    ("approval_withdrawn", {"approval": 1}, ALEXIS, "web", "Alexis Baker withdrew the approval.", "same"),
    ("rated", {"survey": 1, "rating": 4, "comment": "Quick, thanks"}, ZACK, "slack",
     "Zack rated it 4 out of 5: Quick, thanks.", "same"),
    ("survey_sent", {"survey": 1}, SYSTEM_EMAIL, "scheduler", "Zonedesk asked Zack how it went.", "same"),
    ("survey_expired", {"survey": 1}, SYSTEM_EMAIL, "scheduler", "The satisfaction survey ended without an answer.",
     None),
    ("sla_warning", {"clock": "first_response", "due": "2026-11-24T09:00:00+00:00"}, SYSTEM_EMAIL, "scheduler",
     "The first response target is near: due 24 November 2026 10:00.", None),
    ("sla_breached", {"clock": "resolution", "due": "2026-11-24T15:00:00+00:00"}, SYSTEM_EMAIL, "scheduler",
     "The resolution target was missed: it was due 24 November 2026 16:00.", None),
    ("delivery_failed", {"what": "thread_reply", "error": "channel_not_found", "attempts": 12}, SYSTEM_EMAIL,
     "slack", "A message (thread reply) could not be delivered on Slack after 12 attempts.", None),
    ("bundled", {"bundle": 3, "title": "Mail outage"}, ALEXIS, "web",
     "Alexis Baker added it to bundle B3: Mail outage.", None),
    ("unbundled", {"bundle": 3, "title": "Mail outage"}, ALEXIS, "slack",
     "Alexis Baker took it out of bundle B3.", None),
    ("consulted", {"person": "hanna.berg@nordlys.example", "name": "Hanna Berg", "question": "Covered by policy?"},
     ALEXIS, "slack", "Alexis Baker asked Hanna Berg for their view: Covered by policy?", None),
    ("consulted", {"person": "kim@nordlys.example", "name": "Kim Berg", "question": ""}, ALEXIS, "web",
     "Alexis Baker asked Kim Berg for their view.", None),
    ("consultation_withdrawn", {"person": "hanna.berg@nordlys.example", "name": "Hanna Berg"}, ALEXIS, "web",
     "Alexis Baker withdrew the question to Hanna Berg.", None),
    ("consultation_answered", {"comment": 9}, "hanna.berg@nordlys.example", "slack",
     "Hanna Berg gave their view in an internal note.", None),
    ("collaborator_invited", {"address": "service@supplier.example"}, ALEXIS, "web",
     "Alexis Baker brought service@supplier.example into the conversation by e-mail.", "same"),
    ("collaborator_removed", {"address": "service@supplier.example"}, ALEXIS, "slack",
     "Alexis Baker took service@supplier.example out of the conversation.", "same"),
    ("mail_unverified", {"address": "pia@nordlys.example"}, SYSTEM_EMAIL, "email",
     "Sender not verified: this came by e-mail from pia@nordlys.example, which may have been forged.", "same"),
    ("mail_automatic", {"reason": "Auto-Submitted: auto-replied"}, SYSTEM_EMAIL, "email",
     "This came by an automatic e-mail (Auto-Submitted: auto-replied); no automatic answer is sent.", "same"),
    ("mail_file_dropped", {"filename": "scan.tiff"}, SYSTEM_EMAIL, "email",
     "The file scan.tiff that came with an e-mail was too large to keep.", "same"),
    ("time_logged", {"minutes": 30}, ALEXIS, "web", "Alexis Baker: time logged.", None),  # a kind not known here
]


def _event(kind: str, data: dict[str, Any], actor: str = ALEXIS, channel: str = "web") -> EventView:
    return EventView(AT, NAMES.get(actor, actor), actor, channel, kind, data)


def _words(config: AppConfig, *, staff: bool) -> Words:
    return Words(config, "it", requester="Zack", requester_email=ZACK, staff=staff)


@pytest.mark.parametrize(("kind", "data", "actor", "channel", "staff_reads", "requester_reads"), ROWS,
                         ids=[f"{i}-{row[0]}" for i, row in enumerate(ROWS)])
def test_every_event_reads_as_a_sentence_for_its_audience(config: AppConfig, kind: str, data: dict[str, Any],
                                                          actor: str, channel: str, staff_reads: str,
                                                          requester_reads: str | None) -> None:
    event = _event(kind, data, actor, channel)
    said = sentence(_words(config, staff=True), event)
    assert said.text == staff_reads
    assert said.audience is (STAFF if requester_reads is None else REQUESTER)
    if requester_reads is not None:
        assert sentence(_words(config, staff=False), event).text == (
            staff_reads if requester_reads == "same" else requester_reads)


def _recorded_kinds() -> set[str]:
    """Every event kind the core and the channels record: `tx.record(..., "kind"`, a job's `context.event("kind"`, a
    field's `_Field(column, "kind"`, and the outbox's delivery failure."""
    found = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "adapters").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"\.record\(\s*\w+,\s*[\w.]+,\s*\"(\w+)\"", text))
        found |= set(re.findall(r"\.event\(\s*\"(\w+)\"", text))
        found |= set(re.findall(r"_Field\(\s*\"\w+\",\s*\"(\w+)\"", text))
        found |= set(re.findall(r"Event\((?:[^()]|\([^()]*\))*?kind=\"(\w+)\"", text, re.S))
    return found


def test_every_kind_the_code_records_has_its_own_sentence_and_a_row_above() -> None:
    recorded = _recorded_kinds()
    assert {"filed", "status", "urgency", "sla_breached", "survey_sent", "delivery_failed"} <= recorded
    assert recorded - set(SENTENCES) == set(), "give these kinds a sentence in bot/desk/history.py"
    assert set(SENTENCES) | {"time_logged"} == {row[0] for row in ROWS}, "give each sentence a row above"
    assert "approval_withdrawn" in SENTENCES


BAD_DATA: list[dict[str, Any]] = [
    {},
    {"previous": ["odd"], "status": {"x": 1}, "reason": 42, "approvers": "marte", "names": 7, "due": "not a date",
     "deadline": "soon", "task": None, "other": None, "zone": "atlantis", "category": "nothing", "rating": None,
     "waiting": "Marte", "attempts": "many", "decision": None, "outcome": None, "internal": 3, "urgency": []},
]


@pytest.mark.parametrize("data", BAD_DATA, ids=["empty", "garbled"])
@pytest.mark.parametrize("kind", [*SENTENCES, "", "something_new"])
def test_bad_event_data_still_gives_a_sentence_and_never_raises(config: AppConfig, kind: str,
                                                                data: dict[str, Any]) -> None:
    for staff in (True, False):
        said = sentence(_words(config, staff=staff), _event(kind, data, "nobody@elsewhere.example"))
        assert said.text and said.text.endswith((".", "?")) and isinstance(said.audience, Audience)
        assert "{" not in said.text and "None" not in said.text


def test_names_come_from_app_yaml_then_the_recorded_name(config: AppConfig) -> None:
    words = _words(config, staff=True)
    assert sentence(words, _event("accepted", {}, ALEXIS)).text == "Alexis Baker accepted it."  # not "Alexis B."
    stranger = EventView(AT, "Kim Berg", "kim@partner.example", "web", "accepted", {})
    assert sentence(words, stranger).text == "Kim Berg accepted it."


async def test_a_requester_reads_only_the_events_meant_for_them(services: Services) -> None:
    """Through the use cases: the requester's history holds no staff-only event and no agent's reason."""
    desk = services.desk
    zack, alexis, siri = desk.actor(ZACK, "Zack"), desk.actor(ALEXIS), desk.actor(SIRI)
    number = (await desk.file_request(zack, WEB, "Desk wobbles", zone_id="it")).number
    other = (await desk.file_request(zack, WEB, "Chair squeaks", zone_id="it")).number
    await desk.claim(alexis, number)
    await desk.note(alexis, number, "Zack broke it last time too")
    await desk.set_weight(alexis, number, "high")
    await desk.set_internal_category(alexis, number, "incident")
    await desk.relate(alexis, number, other)
    task = await desk.create_task(alexis, number, "Bring a spirit level", to_team="facilities-team")
    await desk.complete_task(siri, task, "Legs levelled")
    await desk.set_status(alexis, number, "waiting", reason="requester")
    await desk.comment(zack, number, "It still wobbles a bit")
    await desk.transfer(alexis, number, "facilities", reason="furniture is theirs, and he is picky")

    mine = (await desk.get_request(zack, number)).history
    assert [e.text for e in mine] == [
        "Zack filed it with IT.",
        "Alexis Baker took it.",
        "Alexis Baker moved it from Accepted to Waiting on requester.",
        "Zack answered. It moved from Waiting on requester to In progress.",
        "Alexis Baker transferred it from IT to Facilities.",
    ]
    assert all(e.public and e.data == {} for e in mine)
    staff = (await desk.get_request(desk.actor(SIRI), number)).history
    assert {"noted", "weight", "internal_category", "related", "task_created", "task_done"} <= {e.kind for e in staff}
    assert "Alexis Baker transferred it from IT to Facilities: furniture is theirs, and he is picky." in [
        e.text for e in staff]
    assert [e.kind for e in staff if e.public] == [e.kind for e in mine]
