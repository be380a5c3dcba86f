"""A received mail, read once with the standard library's `email` package (`policy.default`).

`read_mail(raw)` never raises: a mail whose headers or parts cannot be decoded still gives a `Mail`
(broken parts are skipped, undecodable bytes replaced), so one odd message can neither crash the
receiver nor be half-filed. The body is the plain-text part, else the HTML part turned into readable
text by inscriptis; the quoted earlier conversation and the signature are cut by mail-parser-reply
(`Mail.reply_text`), the whole text kept in `Mail.text` for a new request.

Mail sent without a person writing it is flagged `automatic` with the header that says so:
`Auto-Submitted` (other than `no`), `Precedence: bulk|list|junk`, `X-Auto-Response-Suppress`, a
delivery report, an empty envelope sender, or a Message-ID of our own domain (our own mail coming
back). Such mail is recorded but never answered automatically (`adapters.email.inbound`).
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

log = logging.getLogger(__name__)

TEXT_LIMIT = 20000  # characters of a mail's text kept (the desk's own limit on a description is lower)
HEADER_LIMIT = 998  # a header value longer than a line may be is cut before it is read
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_AUTO_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_LANGUAGES = ["en", "de", "nl", "it", "pl", "sv", "da"]  # mail-parser-reply's patterns for quoted headers


@dataclass(frozen=True)
class Attached:
    """A file that came with a mail: its name as sent, the type it claimed, its bytes."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Mail:
    """What the desk needs of one received mail."""

    message_id: str | None  # "<...>" as written, or None when the mail has none
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: str  # the From address, lower case ("" when there is none)
    sender_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    text: str  # the whole readable body
    reply_text: str  # the body without the quoted conversation and the signature
    automatic: str | None  # the reason it was sent automatically, or None
    raw: bytes = field(repr=False, default=b"")
    attachments: tuple[Attached, ...] = ()  # files sent with it (stored on the request: `inbound`)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this mail answers, the nearest first (In-Reply-To, then References newest first)."""
        seen: dict[str, None] = {}
        for mid in (*self.in_reply_to, *reversed(self.references)):
            seen.setdefault(mid, None)
        return tuple(seen)


def read_mail(raw: bytes, *, envelope_sender: str | None = None, own_domains: tuple[str, ...] = ()) -> Mail:
    """Parse raw RFC 5322 bytes; never raises (see the module's docstring)."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
    except Exception:  # the parser is lenient; this is for what it still cannot take
        log.warning("email: a message could not be parsed at all; read as empty")
        message = EmailMessage()
    sender_name, sender = _address(_header(message, "From"))
    message_id = _first_id(_header(message, "Message-ID"))
    automatic = _automatic(message, envelope_sender, message_id, own_domains)
    text = _body(message)[:TEXT_LIMIT]
    return Mail(
        message_id=message_id,
        in_reply_to=tuple(_MESSAGE_ID.findall(_header(message, "In-Reply-To")))[:20],
        references=tuple(_MESSAGE_ID.findall(_header(message, "References")))[-50:],
        subject=" ".join(_header(message, "Subject").split())[:500],
        sender=sender, sender_name=sender_name,
        to=_addresses(message, "To"), cc=_addresses(message, "Cc"),
        text=text, reply_text=_reply_only(text), automatic=automatic, raw=raw, attachments=_attachments(message),
    )


def _header(message: Message, name: str) -> str:
    """A header as text ('' when missing or unreadable); a broken encoded word reads as written."""
    try:
        value = message.get(name)
    except Exception:
        value = None
    if value is None:
        try:
            raws = [v for k, v in message.raw_items() if k.lower() == name.lower()]
        except Exception:
            raws = []
        value = raws[0] if raws else ""
    return str(value)[: HEADER_LIMIT * 4].replace("\x00", "")


def _address(value: str) -> tuple[str, str]:
    name, address = parseaddr(value[:HEADER_LIMIT])
    address = address.strip().lower()
    if "@" not in address or any(c.isspace() for c in address):
        return name.strip(), ""
    return name.strip()[:200], address[:254]


def _addresses(message: Message, name: str) -> tuple[str, ...]:
    try:
        values = message.get_all(name) or []
        pairs = getaddresses([str(v)[: HEADER_LIMIT * 4] for v in values])
    except Exception:
        return ()
    return tuple(a.strip().lower() for _n, a in pairs if "@" in a)[:100]


def _first_id(value: str) -> str | None:
    found = _MESSAGE_ID.search(value)
    return found.group(0) if found else None


def _automatic(message: Message, envelope_sender: str | None, message_id: str | None,
               own_domains: tuple[str, ...]) -> str | None:
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _header(message, "X-Auto-Response-Suppress").strip():
        return "X-Auto-Response-Suppress"
    if _header(message, "List-Id").strip():
        return "List-Id"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    if envelope_sender is not None and envelope_sender.strip() in {"", "<>"}:
        return "empty envelope sender"
    if message_id and own_domains:
        domain = message_id.strip("<>").rsplit("@", 1)[-1].lower()
        if domain in own_domains:
            return "our own Message-ID"
    return None


def _body(message: Message) -> str:
    """The plain-text part, else the HTML part as readable text; nested multiparts are walked."""
    plain: str | None = None
    html: str | None = None
    try:
        parts = list(message.walk())[:200]
    except Exception:
        parts = []
    for part in parts:
        try:
            if part.is_multipart() or part.get_content_disposition() == "attachment":
                continue
            kind = part.get_content_type()
            if kind not in {"text/plain", "text/html"}:
                continue
            content = _decoded(part)
        except Exception:  # a part that cannot be decoded is left out, the rest still read
            log.debug("email: a part could not be decoded")
            continue
        if kind == "text/plain" and plain is None:
            plain = content
        elif kind == "text/html" and html is None:
            html = content
    if plain is not None and plain.strip():
        return _tidy(plain)
    if html is not None:
        return _tidy(html_text(html))
    return ""


ATTACHMENTS_MAX = 20  # files kept from one mail (its size is limited at SMTP time)


def _attachments(message: Message) -> tuple[Attached, ...]:
    """The files of a mail: parts sent as attachments, and inline parts that are not its text (pictures)."""
    found: list[Attached] = []
    try:
        parts = list(message.walk())[:200]
    except Exception:
        return ()
    for part in parts:
        try:
            if part.is_multipart():
                continue
            disposition = part.get_content_disposition()
            kind = part.get_content_type()
            filename = part.get_filename()
            if disposition != "attachment" and (kind in {"text/plain", "text/html"} or not filename):
                continue
            data = part.get_payload(decode=True)
        except Exception:  # a part whose headers or encoding cannot be read is left out
            log.debug("email: an attachment could not be read")
            continue
        if isinstance(data, bytes) and data:
            name = " ".join(str(filename or "attachment").split())[:200] or "attachment"
            found.append(Attached(name, kind, data))
        if len(found) >= ATTACHMENTS_MAX:
            break
    return tuple(found)


def _decoded(part: Message) -> str:
    """A text part's content; an unknown or wrong charset is read as UTF-8 with replacements."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(payload or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def html_text(html: str) -> str:
    """HTML as the text a reader sees (inscriptis: tables and lists kept readable, scripts dropped)."""
    from inscriptis import get_text

    try:
        return str(get_text(html[: TEXT_LIMIT * 10]))
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _reply_only(text: str) -> str:
    """The newest part of a reply: quoted conversation and signature cut (mail-parser-reply)."""
    if not text:
        return ""
    try:
        from mailparser_reply import EmailReplyParser

        cut = EmailReplyParser(languages=_LANGUAGES).parse_reply(text=text)
    except Exception:
        cut = text
    cut = "\n".join(line for line in (cut or "").split("\n") if not line.startswith(">"))
    return _tidy(cut) or _tidy(text)
