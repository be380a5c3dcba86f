"""Finding the product's English words in what a person who reads another language was shown.

`english_left(text, language)` lists the catalogue's English messages (or their literal pieces around
placeholders) that appear in `text` although that language translates them differently: each is a
product word that reached the person untranslated. Short pieces (under three words) are left out, as
they also occur inside names and the text people typed; what people typed is never translated.
"""

from __future__ import annotations

import re
from functools import cache

from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, catalogue_path

_PLACEHOLDER = re.compile(r"\{\w*[^{}]*\}|%\(\w+\)[sd]")
_MARKUP = re.compile(r"[*_`~<>]")


@cache
def _pieces(language: str) -> tuple[str, ...]:
    """The English pieces a reader of `language` must not see: literal runs of three words or more."""
    with catalogue_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    found: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english, translated in zip(ids, strings, strict=False):
            for piece in _PLACEHOLDER.split(english):
                piece = _MARKUP.sub("", piece).strip(" .,:;!?()[]'\"-·")
                if len(piece.split()) >= 3 and piece not in (translated or ""):
                    found.add(piece)
    return tuple(sorted(found, key=len, reverse=True))


def english_left(text: str, language: str) -> list[str]:
    """The product's English pieces found in `text` that `language` says otherwise."""
    plain = " ".join(_MARKUP.sub("", text).split())
    return [piece for piece in _pieces(language) if piece in plain]
