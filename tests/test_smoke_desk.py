"""First check that the core files, answers and hides requests."""

import pytest

from bot.desk import WEB
from bot.errors import NotFound
from bot.server import Services


async def test_file_reply_and_hide(services: Services) -> None:
    desk = services.desk
    zack = desk.actor("zack@nordlys.example", "Zack McKinnon")
    alexis = desk.actor("alexis.baker@nordlys.example")
    hanna = desk.actor("hanna.berg@nordlys.example")
    filed = await desk.file_request(zack, WEB, "Access to Expensify", zone_id="it", category_id="software-access")
    assert filed.number == 1 and filed.team_id == "it-support"
    await desk.reply(alexis, filed.number, "Done, check your inbox")
    seen = await desk.get_request(zack, filed.number)
    assert [c.body for c in seen.comments] == ["Done, check your inbox"]
    with pytest.raises(NotFound):
        await desk.get_request(hanna, filed.number)
