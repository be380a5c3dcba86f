"""App Home: "My requests" for everyone, "Assigned to me" and "My queue" for agents, kept fresh.

Decision (docs/decisions/0004): a Home is published when opened, and re-published after changes made
through Slack for the people they touch who have opened their Home before.
"""

from __future__ import annotations

from typing import Any

from tests.slack.conftest import ALEXIS, HANNA, IT_HELP, ZACK, SlackWorld, block_text, buttons


def home_of(slack: SlackWorld, user: str) -> dict[str, Any]:
    """The Home view last published for a person."""
    published = [c.args for c in slack.fake.delivered("views.publish") if c.args["user_id"] == user]
    assert published, f"no Home published for {user}"
    return published[-1]["view"]  # type: ignore[no-any-return]


async def open_home(slack: SlackWorld, user: str) -> dict[str, Any]:
    ts = slack.next_ts()
    await slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                       "event_ts": ts})
    return home_of(slack, user)


async def test_a_requester_sees_their_requests(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Need a second screen", channel=IT_HELP)
    home = await open_home(slack, ZACK)
    shown = block_text(home["blocks"])
    assert home["type"] == "home"
    assert "My requests" in shown and "#1" in shown and "Need a second screen" in shown
    assert "My queue" not in shown  # requesters have no queue
    assert "zds:new" in buttons(home["blocks"])


async def test_an_agent_sees_the_queue_of_their_zones_only_and_can_claim_from_it(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Need a second screen", channel=IT_HELP)
    assert "My queue" in block_text((await open_home(slack, HANNA))["blocks"])
    assert "Need a second screen" not in block_text(home_of(slack, HANNA)["blocks"])  # HR does not see IT's work

    home = await open_home(slack, ALEXIS)
    assert buttons(home["blocks"])["zd:claim"] == "1"
    await slack.click(ALEXIS, "zd:claim", "1", view=home)

    refreshed = home_of(slack, ALEXIS)
    assert refreshed is not home
    shown = block_text(refreshed["blocks"])
    assert "Assigned to me" in shown and "#1" in shown and "accepted" in shown
    assert "zd:claim" not in buttons(refreshed["blocks"])  # claimed: no longer offered


async def test_changes_through_slack_refresh_the_homes_of_the_people_they_touch(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Need a second screen", channel=IT_HELP)
    await open_home(slack, ZACK)
    before = len(slack.fake.delivered("views.publish"))

    await slack.desk(ALEXIS, "claim 1")  # Alexis never opened her Home: nothing to refresh for her
    assert "accepted" in block_text(home_of(slack, ZACK)["blocks"])  # Zack's Home shows the new status
    assert [c.args["user_id"] for c in slack.fake.delivered("views.publish")[before:]] == [ZACK]


async def test_the_messages_tab_does_not_publish_the_home(slack: SlackWorld) -> None:
    ts = slack.next_ts()
    await slack.event({"type": "app_home_opened", "user": ZACK, "channel": f"D{ZACK}", "tab": "messages",
                       "event_ts": ts})
    assert slack.fake.calls_to("views.publish") == []
