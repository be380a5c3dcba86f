"""A burst of announcements folded into one message keeps their language: the summary's own words are said
in the language the announcements were written in."""

from __future__ import annotations

from bot.delivery.messages import Message
from bot.delivery.outbox import Delivery, digest
from bot.i18n import translator


def _announcement(row_id: int, language: str | None) -> Delivery:
    message = Message(text="", title=f"#{row_id} Skrivaren är trasig", link=f"https://desk.example/requests/{row_id}",
                      extra={"desk": "https://desk.example/desk"}, language=language)
    return Delivery(row_id, "slack", "triage", "slack:C0ITTRIAGE:", {"channel": "C0ITTRIAGE"},
                    {"message": message.to_dict()}, row_id, 0)


def test_a_swedish_burst_is_summarised_in_swedish() -> None:
    summary = digest([_announcement(n, "sv") for n in (4, 5, 6)]).message
    sv = translator("sv")
    assert summary.language == "sv"
    assert summary.title == sv.ngettext("{count} new request arrived together", "{count} new requests arrived together",
                                        3)
    assert summary.footer == sv.gettext("Announced together because they arrived at once; open each to claim it.")
    assert summary.link_label == sv.gettext("Open the desk")
    assert summary.title != "3 new requests arrived together", "the catalogue has it in Swedish"
    assert summary.text.splitlines()[0] == "• #4 Skrivaren är trasig · https://desk.example/requests/4"


def test_rows_queued_before_languages_are_summarised_in_english() -> None:
    summary = digest([_announcement(n, None) for n in (1, 2, 3)]).message
    assert (summary.title, summary.language) == ("3 new requests arrived together", "en")
