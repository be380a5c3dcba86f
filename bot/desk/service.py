"""`Desk`: the front every adapter calls, over the use cases of this package.

`Desk` is the unit of work (`bot.desk.unit.Unit`: transactions, the policy, the live channels) that
files requests (`bot.desk.intake.Intake`), with the other use cases attached by name, so an adapter
needs one object. Each use case lives in the module of
its concept and is written only on the unit of work; a new feature is a new module beside them that
uses the same few calls (see `bot/desk/unit.py`), not a new method here.

| concept | module |
|---|---|
| filing, group commit, routing | `intake` |
| a chat message: file it, add it to its request, or not | `receive` |
| replies, notes, the requester's comments | `conversation` |
| claim, assign, accept | `ownership` |
| status moves, cancel, reopen | `lifecycle` |
| urgency, weight, categories, deadline, labels, relations | `fields` |
| transfer to another zone | `transfers` |
| tasks to teams and agents | `tasks` |
| what a person may read | `reads` |
| full-text search | `search` |
| approvals, surveys (feature modules) | `approvals`, `surveys` |
| one action on many requests; bundles | `bulk`, `bundles` |
| one person's view on one request; outside addresses by mail | `consultation`, `collaborators` |
"""

from __future__ import annotations

from bot.config import Zone
from bot.desk import bulk, bundles, conversation, fields, lifecycle, ownership, reads, tasks, transfers
from bot.desk import collaborators as collaborating
from bot.desk import consultation as consulting
from bot.desk import receive as receiving
from bot.desk import search as searching
from bot.desk.intake import Intake, intake_zone, mapped_zone
from bot.desk.unit import compute_priority


class Desk(Intake):
    """The service desk's use cases over one configuration, database and clock.

    A unit of work (`Unit`) that files requests (`Intake`: `file_request`, with group commit), with
    every other use case attached by name below.
    """

    # ---------------------------------------------------------------- intake
    receive = receiving.receive

    def intake_zone(self, platform: str, channel: str | None) -> str | None:
        """The zone a chat channel files into; for a DM, the dispatcher zone when `app.yaml` routes there."""
        return intake_zone(self.config, platform, channel)

    def channel_zone(self, platform: str, *channels: str | None) -> str | None:
        """The zone `app.yaml` maps a chat channel to, if any (trying each id the channel goes by)."""
        return mapped_zone(self.config, platform, *channels)

    def filing_zones(self) -> list[Zone]:
        """Zones a requester may choose from."""
        return list(self.config.zones)

    def compute_priority(self, urgency: str, weight: str | None, category_id: str | None,
                         internal: str | None) -> str:
        """Requester's urgency x dispatcher's weight from the matrix, raised to any category floor."""
        return compute_priority(self.config, urgency, weight, category_id, internal)

    # ---------------------------------------------------------------- the use cases, by concept
    reply = conversation.reply
    note = conversation.note
    comment = conversation.comment

    claim = ownership.claim
    assign = ownership.assign
    accept = ownership.accept

    set_status = lifecycle.set_status
    cancel = lifecycle.cancel
    reopen = lifecycle.reopen

    set_urgency = fields.set_urgency
    set_weight = fields.set_weight
    set_category = fields.set_category
    set_internal_category = fields.set_internal_category
    set_deadline = fields.set_deadline
    add_label = fields.add_label
    remove_label = fields.remove_label
    relate = fields.relate
    unrelate = fields.unrelate

    transfer = transfers.transfer
    create_task = tasks.create_task
    complete_task = tasks.complete_task

    get_request = reads.get_request
    list_requests = reads.list_requests
    count_requests = reads.count_requests
    list_tasks = reads.list_tasks
    get_task = reads.get_task
    search = searching.search

    bulk_action = bulk.bulk_action
    create_bundle = bundles.create_bundle
    add_to_bundle = bundles.add_to_bundle
    remove_from_bundle = bundles.remove_from_bundle
    get_bundle = bundles.get_bundle
    list_bundles = bundles.list_bundles
    reply_to_bundle = bundles.reply_to_bundle
    set_bundle_status = bundles.set_bundle_status

    consult = consulting.consult
    withdraw_consultation = consulting.withdraw
    answer_consultation = consulting.answer
    consulted = consulting.consulted
    consulted_attachment = consulting.consulted_attachment
    consultations_of = consulting.consultations_of
    invite_collaborator = collaborating.invite
    remove_collaborator = collaborating.remove
    collaborator_comment = collaborating.comment_by_mail
    collaborators_of = collaborating.collaborators_of
    guest_mail = collaborating.mail_from_guest

    handled = receiving.handled
    mark_handled = receiving.mark_handled
    thread_request = receiving.thread_request
