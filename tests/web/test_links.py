"""Addresses in descriptions and comments are links: http, https and mailto only, escaped, telling nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from adapters.web.pages import linkify
from tests.web.conftest import IT_AGENT, REQUESTER, Browser, number_of

REL = 'rel="noopener noreferrer"'


@pytest.mark.parametrize(("text", "expected"), [
    ("see https://wiki.example/a?b=1&c=2.",
     f'see <a href="https://wiki.example/a?b=1&amp;c=2" {REL}>https://wiki.example/a?b=1&amp;c=2</a>.'),
    ("(http://x.example/page) and mailto:it@nordlys.example!",
     f'(<a href="http://x.example/page" {REL}>http://x.example/page</a>) and '
     f'<a href="mailto:it@nordlys.example" {REL}>mailto:it@nordlys.example</a>!'),
    ("HTTPS://LOUD.example/Path_(1)",
     f'<a href="HTTPS://LOUD.example/Path_(1)" {REL}>HTTPS://LOUD.example/Path_(1)</a>'),
    # Hostile: other schemes stay text, quotes and tags end an address and are escaped.
    ("javascript:alert(1) JAVASCRIPT://x.example data:text/html,<script>alert(1)</script>",
     "javascript:alert(1) JAVASCRIPT://x.example data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"),
    ('https://x.example/"onmouseover="alert(1)',
     f'<a href="https://x.example/" {REL}>https://x.example/</a>&#34;onmouseover=&#34;alert(1)'),
    ("https://x.example/'><img src=x onerror=alert(1)>",
     f'<a href="https://x.example/" {REL}>https://x.example/</a>&#39;&gt;&lt;img src=x onerror=alert(1)&gt;'),
    ('<a href="https://evil.example">your bank</a>',
     f'&lt;a href=&#34;<a href="https://evil.example" {REL}>https://evil.example</a>&#34;&gt;your bank&lt;/a&gt;'),
    ("http:// and https://. and mailto: alone", "http:// and https://. and mailto: alone"),
    ("", ""),
])
def test_linkify(text: str, expected: str) -> None:
    assert str(linkify(text)) == expected


async def test_links_in_the_description_and_comments_are_clickable(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    page = await requester.file("VPN guide is wrong",
                                description="Step 3 of https://wiki.nordlys.example/vpn fails.\n"
                                            "<b>javascript:alert(1)</b>")
    number = number_of(page)
    assert (f'Step 3 of <a href="https://wiki.nordlys.example/vpn" {REL}>https://wiki.nordlys.example/vpn</a> fails.'
            in page.html)
    assert "&lt;b&gt;javascript:alert(1)&lt;/b&gt;" in page.html and "<b>" not in page.html

    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    await agent.post(f"/requests/{number}/reply", {"reply": "Write to mailto:vpn@nordlys.example please"})
    await agent.post(f"/requests/{number}/note", {"note": "Old guide: http://old.nordlys.example/vpn"})
    seen = await agent.get(f"/requests/{number}")
    assert f'<a href="mailto:vpn@nordlys.example" {REL}>' in seen.html
    assert f'<a href="http://old.nordlys.example/vpn" {REL}>' in seen.html
    assert not re.search(r'href="(?!https?:|mailto:|/)', seen.html), "no link but ours and http(s)/mailto"
