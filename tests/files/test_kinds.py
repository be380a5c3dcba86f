"""How a file is served, decided from its bytes; and file names that can never break a header."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.files.kinds import DOWNLOAD, PDF, TEXT, content_disposition, safe_filename, served_as

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
EXE = b"MZ\x90\x00" + b"\x00" * 60
ZIP = b"PK\x03\x04" + b"\x00" * 60


@pytest.mark.parametrize(("head", "name", "declared", "content_type", "inline"), [
    (PNG, "photo.png", "image/png", "image/png", True),
    (PNG, "photo.html", "text/html", "image/png", True),  # the bytes decide: a picture is drawn as one
    (JPEG, "scan.jpg", "", "image/jpeg", True),
    (b"%PDF-1.7\n...", "invoice.pdf", "application/octet-stream", PDF, True),
    (b"printer jammed\n", "log.txt", "text/plain", TEXT, True),
    (b"printer jammed\n", "", "", TEXT, True),
    ("Årsrapport\n".encode(), "rapport.csv", "text/csv", TEXT, True),
    (b"<!DOCTYPE html><script>alert(1)</script>", "note.txt", "text/plain", DOWNLOAD, False),
    (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg", "image/svg+xml", DOWNLOAD, False),
    (b"<?xml version='1.0'?><a/>", "data.xml", "application/xml", DOWNLOAD, False),
    (b"alert(document.cookie)\n", "app.js", "application/javascript", DOWNLOAD, False),
    (b"alert(document.cookie)\n", "readme.txt", "text/javascript", DOWNLOAD, False),
    (b"#!/bin/sh\nrm -rf /\n", "run.sh", "application/x-sh", DOWNLOAD, False),
    (EXE, "setup.exe", "application/x-msdownload", DOWNLOAD, False),
    (ZIP, "budget.xlsx", "", DOWNLOAD, False),
    (b"\x00\x01\x02binary", "blob.txt", "text/plain", DOWNLOAD, False),
    (b"", "empty.txt", "", TEXT, True),  # nothing to run
])
def test_a_file_is_shown_only_when_its_bytes_are_safe_to_show(head: bytes, name: str, declared: str,
                                                              content_type: str, inline: bool) -> None:
    served = served_as(head, name, declared)
    assert (served.content_type, served.inline) == (content_type, inline)
    assert "default-src 'none'" in served.policy
    assert ("sandbox" in served.policy) == (content_type != PDF)


def test_names_lose_folders_control_characters_and_quotes() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\report.pdf") == "report.pdf"
    assert safe_filename('a"b\r\nc\t.txt') == "a'b c .txt"
    assert safe_filename("...") == "file"
    assert len(safe_filename("x" * 400 + ".pdf")) == 150 and safe_filename("x" * 400 + ".pdf").endswith(".pdf")


@given(st.text(max_size=300))
def test_any_name_makes_a_header_with_no_line_break_and_only_ascii(name: str) -> None:
    for inline in (True, False):
        value = content_disposition(name, inline=inline)
        assert value.isascii() and "\r" not in value and "\n" not in value
        assert value.count('"') == 2  # the quoted fallback name holds no quote of its own
