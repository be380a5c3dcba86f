"""Block Kit rendering of the core's neutral messages, with every piece of user text escaped.

Slack reads `<...>` in mrkdwn as a mention or a link and `&` as the start of an entity, so user text
goes through `escape` before it is placed in any mrkdwn: nobody can ping `<!channel>` or show
`<https://evil.example|your bank>`. Slack's limits are enforced here too: at most 3,000 characters
per section, 10 fields per section, 25 buttons per actions block and 50 blocks per message.

A message comes written in its recipient's language (`Message.language`, set when it was queued); the
few words the renderer adds itself ("Open in Zonedesk", "wrote:") are said in that language too.
"""

from __future__ import annotations

from typing import Any

from bot.delivery.messages import Button, Message
from bot.i18n import _, current, speaking

SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
BUTTON_TEXT_MAX = 75
BUTTONS_PER_BLOCK = 25
BLOCKS_MAX = 50
FALLBACK_MAX = 3000
PLAIN_MAX = 150  # modal titles, option texts, header blocks
ACTION_PREFIX = "zd:"
LINK_ACTION = "zd_link"  # a URL button: Slack still posts its click, which matches no listener of ours but the ack

Block = dict[str, Any]


def escape(text: str) -> str:
    """User text made inert for mrkdwn: `&`, `<` and `>` as entities (Slack's own escaping rules)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_chunks(text: str, limit: int = SECTION_MAX) -> list[str]:
    """Escape `text` and cut it into pieces of at most `limit` characters, never inside an entity."""
    escaped = escape(text)
    chunks = []
    while len(escaped) > limit:
        cut = limit
        amp = escaped.rfind("&", cut - 5, cut)  # an entity is at most 5 characters (&amp;)
        if amp != -1 and ";" not in escaped[amp:cut]:
            cut = amp
        chunks.append(escaped[:cut])
        escaped = escaped[cut:]
    if escaped:
        chunks.append(escaped)
    return chunks


def shorten(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> Block:
    """A mrkdwn text object (the caller has escaped user text)."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str, limit: int = PLAIN_MAX) -> Block:
    """A plain_text object (Slack never interprets markup in it), cut to Slack's limit."""
    return {"type": "plain_text", "text": shorten(text or " ", limit), "emoji": True}


def section(text: str) -> Block:
    """A section block from already-escaped mrkdwn (cut to the section limit as a last resort)."""
    return {"type": "section", "text": mrkdwn(shorten(text, SECTION_MAX))}


def context(text: str) -> Block:
    """A context line from already-escaped mrkdwn."""
    return {"type": "context", "elements": [mrkdwn(shorten(text, SECTION_MAX))]}


def button(action: str, label: str, value: str, style: str | None = None, action_id: str | None = None) -> Block:
    """A button whose action_id carries the neutral action name (`zd:claim`)."""
    element: Block = {"type": "button", "action_id": action_id or f"{ACTION_PREFIX}{action}",
                      "text": plain(label, BUTTON_TEXT_MAX), "value": value[:2000]}
    if style in {"primary", "danger"}:
        element["style"] = style
    return element


def action_name(action_id: str) -> str:
    """The neutral action name in a button's action_id: `zd:claim` and `zd:claim:2` are both `claim`."""
    return action_id[len(ACTION_PREFIX):].split(":", 1)[0] if action_id.startswith(ACTION_PREFIX) else ""


def buttons_blocks(buttons: tuple[Button, ...], block_id: str | None = None) -> list[Block]:
    """Actions blocks for neutral buttons; action_ids stay unique inside the message."""
    seen: dict[str, int] = {}
    elements = []
    for item in buttons:
        count = seen.get(item.action, 0)
        seen[item.action] = count + 1
        action_id = f"{ACTION_PREFIX}{item.action}" + (f":{count}" if count else "")
        elements.append(button(item.action, item.label, item.value, item.style, action_id))
    blocks = []
    for start in range(0, len(elements), BUTTONS_PER_BLOCK):
        block: Block = {"type": "actions", "elements": elements[start:start + BUTTONS_PER_BLOCK]}
        if block_id and start == 0:
            block["block_id"] = block_id
        blocks.append(block)
    return blocks


COMMENT_BLOCK = "zd_comment"


def comment_of(payload: dict[str, Any]) -> str:
    """The optional comment typed into a card's comment input before a button was clicked."""
    values = ((payload.get("state") or {}).get("values") or {}).get(COMMENT_BLOCK) or {}
    element = values.get("value") or {}
    return str(element.get("value") or "").strip() if isinstance(element, dict) else ""


def render_message(message: Message) -> tuple[str, list[Block]]:
    """The notification text and the blocks of one neutral message, in the message's language."""
    with speaking(message.language or current().language):
        return _render(message)


def _render(message: Message) -> tuple[str, list[Block]]:
    head: list[Block] = []
    if message.title:
        head.append(section(f"*{escape(shorten(message.title, 500))}*"))
    if message.author:
        head.append(context(_("*{author}* wrote:", author=escape(shorten(message.author, 200)))))
    body = [section(chunk) for chunk in escaped_chunks(message.text)] if message.text.strip() else []
    tail: list[Block] = []
    fields = [mrkdwn(shorten(f"*{escape(k)}*\n{escape(v)}", FIELD_MAX)) for k, v in message.fields]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        tail.append({"type": "section", "fields": fields[start:start + FIELDS_PER_SECTION]})
    if message.link:
        label = escape(message.link_label or _("Open in Zonedesk"))
        tail.append(section(f"<{escape(message.link)}|{label}>"))
    if message.buttons and message.extra.get("comment"):
        # An approval card: the approver may add a comment, read from the message's state on the click.
        tail.append({"type": "input", "block_id": COMMENT_BLOCK, "optional": True,
                     "label": plain(_("Comment (optional)")),
                     "element": {"type": "plain_text_input", "action_id": "value", "max_length": 2000}})
    if message.buttons:
        tail += buttons_blocks(message.buttons, block_id="zd_actions")
    if message.footer:
        tail.append(context(escape(message.footer)))
    room = BLOCKS_MAX - len(head) - len(tail)
    if len(body) > room:
        shortened = _("(shortened: open the request in Zonedesk to read it all)")
        body = [*body[:max(room - 1, 0)], context(f"_{escape(shortened)}_")]
    blocks = (head + body + tail)[:BLOCKS_MAX]
    return fallback_text(message), blocks


def fallback_text(message: Message) -> str:
    """The top-level `text` of a message: what notifications and screen readers show."""
    parts = [p for p in (message.title, f"{message.author}: {message.text}" if message.author else message.text) if p]
    return escape(shorten("\n".join(parts) or "Zonedesk", FALLBACK_MAX))


def notice_blocks(text: str, link: str | None = None, link_label: str | None = None) -> list[Block]:
    """Blocks for a private notice made of plain text (command answers, refusals), with an optional link
    button (a sign-in link: its click opens the browser, and Slack's own interaction for it is only acked)."""
    chunks = escaped_chunks(text)
    blocks = [section(chunk) for chunk in chunks[:BLOCKS_MAX - (1 if link else 0)]]
    if link:
        blocks.append({"type": "actions", "block_id": "zd_link", "elements": [
            {"type": "button", "action_id": LINK_ACTION, "text": plain(link_label or _("Open in Zonedesk"),
                                                                         BUTTON_TEXT_MAX),
             "url": link[:3000], "style": "primary"}]})
    return blocks


def with_status_line(blocks: list[Block], line: str) -> list[Block]:
    """A posted card's blocks with its status line (who claimed it...) set to `line`."""
    kept = [b for b in blocks if b.get("block_id") != "zd_status"]
    status = context(escape(line))
    status["block_id"] = "zd_status"
    at = next((i for i, b in enumerate(kept) if b.get("type") == "actions"), len(kept))
    return ([*kept[:at], status, *kept[at:]])[:BLOCKS_MAX]
