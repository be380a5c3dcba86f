"""`organisation.zone_word` names zones on every page and in what the desk says; a bad word stops start-up."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import ConfigError, load_config
from bot.server import Services, build_services
from tests.web.conftest import IT_AGENT, REQUESTER, ROOT, SECRET, Browser, number_of

FRIDA = "frida.dahl@nordlys.example"  # front desk dispatcher


def _configured(tmp_path: Path, line: str) -> Path:
    for folder in ("forms", "saved_replies"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    text = (ROOT / "app.yaml").read_text()
    shipped = re.search(r"^  zone_word: .*$", text, re.M)
    assert shipped, "app.yaml documents organisation.zone_word"
    path = tmp_path / "app.yaml"
    path.write_text(text.replace(shipped.group(0), line))
    return path


@pytest.fixture
async def web_services(sqlite_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Services]:
    """The web channel with the organisation calling its zones service areas."""
    built = build_services(_configured(tmp_path, "  zone_word: Service area"), sqlite_url, clock=clock,
                           env={"ZONEDESK_SECRET_KEY": SECRET})
    yield built
    await built.engine.dispose()


async def test_pages_and_messages_use_the_configured_word(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    assert "Choose the service area; you pick the category" in (await requester.get("/")).text
    form = await requester.get("/new/it")
    assert "Choose the service area" not in form.text and "New request › IT" in form.text
    page = await requester.file("Printer on floor 2")
    number = number_of(page)
    assert re.search(r"<dt>Service area</dt><dd>IT</dd>", page.html)
    assert "<th>Service area</th>" in (await requester.get("/requests")).html
    assert "Department" not in page.text

    frida = browsers()
    await frida.sign_in(FRIDA)
    front = number_of(await requester.file("Where do I ask?", zone="front-desk"))
    assert "Resolve…" not in (await frida.get(f"/requests/{front}")).text  # a dispatcher zone never resolves
    refused = await frida.post(f"/requests/{front}/resolve", {"confirmed": "yes"})
    assert refused.status == 400
    assert "transfer it to the service area that handles it." in refused.text
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    empty = await agent.post(f"/requests/{number}/transfer", {"zone": ""})
    assert empty.status == 400 and "Choose the service area to transfer it to." in empty.text


@pytest.mark.parametrize("word", ["", "zone<script>", "Department 2", "A very long name for a department"])
def test_a_bad_word_is_refused_with_its_line(tmp_path: Path, word: str) -> None:
    path = _configured(tmp_path, f'  zone_word: "{word}"')
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "organisation.zone_word: expected one to three words of letters, as in a label, e.g. Department" in str(
        refused.value)


def test_the_word_reads_in_a_sentence(tmp_path: Path) -> None:
    assert load_config(_configured(tmp_path, "  zone_word: BU")).organisation.zone_noun == "BU"
    assert load_config(ROOT / "app.yaml").organisation.zone_noun == "department"
