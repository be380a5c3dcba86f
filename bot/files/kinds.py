"""What a file is, from its bytes, and how it may be served: shown in the page or only downloaded.

The type a sender declared (a Slack mimetype, a mail part's Content-Type) is never trusted: the first
bytes are read with `filetype` (magic numbers, pure Python, MIT). Images a browser draws safely, PDF and
plain text may be shown inline; everything else (HTML, SVG, XML, scripts, executables, archives, office
files, anything unknown) is served only as a download, always with `nosniff` and a sandboxing CSP.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import filetype

SNIFF_BYTES = 8192  # how much of the start of a file decides what it is
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"})
PDF = "application/pdf"
TEXT = "text/plain; charset=utf-8"
DOWNLOAD = "application/octet-stream"
# Markup a browser would run if it ever took the file for a page (text/plain with nosniff is not run, but a
# file that looks like a page is not shown inline either).
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|\?xml|xsl|meta)\b", re.I)
# A sandbox for whatever is served: no scripts, no plugins, no forms, no same origin.
# Text shown inline only under one of these names (or none): a script or a page is text too.
TEXT_EXTENSIONS = frozenset({"", "txt", "text", "log", "csv", "tsv", "md", "json", "yaml", "yml", "ini", "cfg", "conf"})
_ACTIVE_TYPES = ("html", "xml", "svg", "javascript", "ecmascript", "script", "x-sh", "msdownload")
SANDBOX = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
# Chromium's PDF viewer refuses to run in a sandboxed document; a PDF gets everything else but the sandbox.
PDF_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; object-src 'self'"


@dataclass(frozen=True)
class Served:
    """How a file is served: its Content-Type, whether it is shown inline, and its Content-Security-Policy."""

    content_type: str
    inline: bool
    policy: str = SANDBOX


def served_as(head: bytes, filename: str = "", declared: str = "") -> Served:
    """Decide from the first bytes of a file (at least `SNIFF_BYTES` of them, or all of a shorter file).

    The name and the declared type never make a file shown; they only keep text that says it is a script
    or markup (`app.js`, `text/html`) from being shown as text: it is downloaded like the rest.
    """
    kind = filetype.guess_mime(head) if head else None
    if kind in INLINE_IMAGES:
        return Served(str(kind), True)
    if kind == PDF:
        return Served(PDF, True, PDF_POLICY)
    if kind:
        return Served(DOWNLOAD, False)  # a known binary kind that is not safe to show: archives, programs...
    if _is_text(head) and not _MARKUP.search(head) and _plain_text(filename, declared):
        return Served(TEXT, True)
    return Served(DOWNLOAD, False)


def _plain_text(filename: str, declared: str) -> bool:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    declared = declared.lower()
    return extension in TEXT_EXTENSIONS and not any(word in declared for word in _ACTIVE_TYPES)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for cut in range(4):  # the sniffed piece may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def safe_filename(name: str, fallback: str = "file") -> str:
    """A file name fit for a header and a disk: no folders, control characters or quotes; at most 150 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(c)[0] in {"C", "Z"} and c != " " else c for c in name)
    name = " ".join(name.replace('"', "'").split()).strip(" .")
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 150 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:150]
    return name or fallback


def content_disposition(filename: str, *, inline: bool) -> str:
    """`Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266 and RFC 5987/8187)."""
    name = safe_filename(filename)
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = re.sub(r"[^A-Za-z0-9 !#$%&'()+,.;=@\[\]^_`{}~-]", "_", ascii_name)
    value = f'{"inline" if inline else "attachment"}; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value
