"""Sign-in links that land on a page, and links sent to a person's chat from the sign-in page: where they may
land, that only the person's own chat gets them, and the limits per address and per client (on SQLite and,
when configured, PostgreSQL: the limits are conditional upserts every replica shares)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.delivery.channels import ChannelInfo
from bot.errors import DeskError
from bot.model import LoginToken, Outbox
from bot.people.signin import SENDS_PER_ADDRESS, SENDS_PER_CLIENT, Asked, SignIn, landing_path
from bot.server import Services

ZACK = "zack@nordlys.example"


def signin_of(services: Services) -> SignIn:
    return SignIn(services.sessions, services.clock, services.secret_key, services.config.organisation.base_url)


def token_of(link: str) -> str:
    return link.rsplit("/login/", 1)[1]


async def count(services: Services, model: type[LoginToken] | type[Outbox]) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("path", "landing"), [
    ("/requests/3", "/requests/3"),
    ("/board?zone=it", "/board?zone=it"),
    ("/", None),  # the default (desk or portal) is better than the bare front page for staff
    ("/login/abc", None), ("/login", None), ("/logout", None),  # never back into signing in
    ("https://evil.example/x", None), ("//evil.example", None), ("/\\evil.example", None),
    ("javascript:alert(1)", None), ("requests/3", None), ("/requests/3\r\nSet-Cookie: x=1", None),
    ("/" + "a" * 600, None), ("", None), (None, None),
])
def test_where_a_link_may_land(path: str | None, landing: str | None) -> None:
    assert landing_path(path) == landing


async def test_a_link_carries_its_landing_signed(services: Services) -> None:
    signin = signin_of(services)
    token = token_of(await signin.create_link(ZACK, landing="/requests/3"))
    assert signin.landing(token) == "/requests/3"
    assert await signin.redeem(token) == ZACK
    assert signin.landing(token_of(await signin.create_link(ZACK))) is None  # no landing: the default

    forged = URLSafeSerializer(b"another-key-0123456789abcdef", salt="zonedesk-login").dumps(["x", "/desk"])
    with pytest.raises(DeskError, match="not valid"):
        signin.landing(forged)


async def test_a_link_may_not_be_made_to_land_elsewhere(services: Services) -> None:
    signin = signin_of(services)
    for target in ("https://evil.example/", "//evil.example", "/login/xyz"):
        with pytest.raises(ValueError, match="page of this site"):
            await signin.create_link(ZACK, landing=target)
    assert await count(services, LoginToken) == 0


async def test_links_as_they_were_made_before_landings_still_sign_in(services: Services) -> None:
    signin = signin_of(services)
    link = await signin.create_link(ZACK)
    assert "/login/" in link and signin.landing(token_of(link)) is None
    assert await signin.redeem(token_of(link)) == ZACK


async def test_a_link_asked_for_goes_only_to_the_person_s_own_chat(services: Services) -> None:
    services.desk.enable(ChannelInfo("slack"))
    await services.directory.remember("slack", "UZACK", ZACK, "Zack")
    signin = signin_of(services)

    assert await signin.send_link(services.desk, "nobody@nordlys.example", landing="/requests/1",
                                  client="10.0.0.1") is Asked.UNKNOWN
    assert await count(services, LoginToken) == 0 and await count(services, Outbox) == 0  # nothing minted

    assert await signin.send_link(services.desk, "ZACK@nordlys.example", landing="/requests/1",
                                  client="10.0.0.1") is Asked.SENT
    async with services.sessions() as session:
        [row] = (await session.execute(select(Outbox))).scalars()
    assert row.platform == "slack" and row.kind == "dm" and row.target == {"user": "UZACK", "email": ZACK}
    link = row.payload["message"]["link"]
    assert signin.landing(token_of(link)) == "/requests/1" and await signin.redeem(token_of(link)) == ZACK


async def test_a_person_not_in_a_live_chat_gets_nothing(services: Services) -> None:
    await services.directory.remember("teams", "aad-zack", ZACK, "Zack")  # known in Teams, which is not live
    assert await signin_of(services).send_link(services.desk, ZACK, landing=None, client="c") is Asked.UNKNOWN
    assert await count(services, Outbox) == 0


async def test_at_most_three_per_address_in_any_fifteen_minutes(services: Services, clock: FakeClock) -> None:
    services.desk.enable(ChannelInfo("slack"))
    await services.directory.remember("slack", "UZACK", ZACK, "Zack")
    signin = signin_of(services)

    async def ask(client: str = "c1") -> Asked:
        return await signin.send_link(services.desk, ZACK, landing=None, client=client)

    for _ in range(SENDS_PER_ADDRESS):  # at 0, 5 and 10 minutes
        assert await ask() is Asked.SENT
        clock.advance(timedelta(minutes=5))
    assert await ask("c2") is Asked.LIMITED  # at 15 minutes: the first send's slot is free again...
    clock.advance(timedelta(seconds=1))
    assert await ask("c2") is Asked.SENT
    assert await ask("c3") is Asked.LIMITED  # ...but only that one
    assert await count(services, LoginToken) == SENDS_PER_ADDRESS + 1


async def test_one_client_may_ask_for_so_many_addresses(services: Services, clock: FakeClock) -> None:
    signin = signin_of(services)
    for n in range(SENDS_PER_CLIENT):
        assert await signin.send_link(services.desk, f"p{n}@nordlys.example", landing=None,
                                      client="10.0.0.9") is Asked.UNKNOWN
    assert await signin.send_link(services.desk, ZACK, landing=None, client="10.0.0.9") is Asked.LIMITED
    assert await signin.send_link(services.desk, ZACK, landing=None, client="10.0.0.10") is Asked.UNKNOWN
    clock.advance(timedelta(minutes=15, seconds=1))
    assert await signin.send_link(services.desk, ZACK, landing=None, client="10.0.0.9") is Asked.UNKNOWN


async def test_what_is_not_an_address_is_refused(services: Services) -> None:
    with pytest.raises(DeskError, match="is not an e-mail address"):
        await signin_of(services).send_link(services.desk, "zack", landing=None, client="c")


async def test_the_web_verb_answers_with_a_link_only_where_links_can_be_made(services: Services) -> None:
    from bot.desk.commands import run_command

    zack = services.desk.actor(ZACK)
    without = await run_command(services.desk, zack, "web")
    assert not without.ok and without.link is None
    assert without.text == "Zonedesk cannot make sign-in links here; ask an administrator for one."

    answered = await run_command(services.desk, zack, "web", signin=signin_of(services))
    assert answered.ok and answered.link is not None and answered.link_label == "Open Zonedesk"
    assert await signin_of(services).redeem(token_of(answered.link)) == ZACK
    assert (await run_command(services.desk, zack, "web 1 2", signin=signin_of(services))).text == \
        "Usage: web [number]"


async def test_links_are_deleted_a_day_after_they_expired_and_stay_refused(services: Services,
                                                                            clock: FakeClock) -> None:
    """The retention job removes expired links (used or not); a removed link is still refused, and a
    link that is still usable is kept."""
    signin = signin_of(services)
    used = await signin.create_link("zack@nordlys.example")
    await signin.redeem(token_of(used))
    unused = await signin.create_link("alexis.baker@nordlys.example")
    clock.advance(timedelta(days=1, minutes=16))  # both expired more than a day ago
    fresh = await signin.create_link("hanna.berg@nordlys.example")

    await services.retention()

    assert await count(services, LoginToken) == 1  # only the fresh link's row is left
    for link in (used, unused):
        with pytest.raises(DeskError):
            await signin.redeem(token_of(link))
    assert await signin.redeem(token_of(fresh)) == "hanna.berg@nordlys.example"
