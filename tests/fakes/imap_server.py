"""A minimal IMAP4rev1 server on asyncio, for the e-mail channel's mailbox tests.

It speaks what imap-tools (over imaplib) uses to read a folder: CAPABILITY, LOGIN, SELECT/EXAMINE,
STATUS (UIDVALIDITY, UIDNEXT, MESSAGES), UID SEARCH (`UID a:b`, `ALL`), UID FETCH (`BODY.PEEK[]`,
`BODY[]`, `RFC822`), NOOP and LOGOUT; anything else is answered BAD. One folder per server, one user;
`messages` (uid -> raw bytes) and `uidvalidity` can be changed between rounds, and `commands` records
what clients sent (a test can show nothing was STOREd, EXPUNGEd or deleted).

pymap (MIT) was the first choice; its in-memory backend is filled from its demo data files and has no
way to renumber a folder (a new UIDVALIDITY) between two reads, which is what the tests need.
"""

from __future__ import annotations

import asyncio
import re
from types import TracebackType


class FakeImapServer:
    """An IMAP server on a loopback port holding one folder."""

    def __init__(self, user: str, password: str, folder: str = "INBOX") -> None:
        self.user, self.password, self.folder = user, password, folder
        self.uidvalidity = 1000
        self.messages: dict[int, bytes] = {}
        self.commands: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    def add(self, raw: bytes) -> int:
        """Deliver a message into the folder; returns its UID."""
        uid = max(self.messages, default=0) + 1
        self.messages[uid] = raw
        return uid

    async def __aenter__(self) -> FakeImapServer:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._sessions):
                task.cancel()
            await asyncio.gather(*self._sessions, return_exceptions=True)
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        authed = selected = False
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)

        async def say(line: str | bytes) -> None:
            writer.write((line.encode() if isinstance(line, str) else line) + b"\r\n")
            await writer.drain()

        await say("* OK [CAPABILITY IMAP4rev1] fake ready")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                text = line.decode(errors="replace").rstrip("\r\n")
                tag, _, rest = text.partition(" ")
                command, _, args = rest.partition(" ")
                command = command.upper()
                self.commands.append(f"{command} {args}" if command != "LOGIN" else "LOGIN ***")
                if command == "CAPABILITY":
                    await say("* CAPABILITY IMAP4rev1")
                    await say(f"{tag} OK CAPABILITY done")
                elif command == "NOOP":
                    await say(f"{tag} OK NOOP done")
                elif command == "LOGIN":
                    parts = [p.strip('"') for p in re.findall(r'"(?:[^"\\]|\\.)*"|\S+', args)]
                    if parts[:2] == [self.user, self.password]:
                        authed = True
                        await say(f"{tag} OK LOGIN completed")
                    else:
                        await say(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
                elif command == "LOGOUT":
                    await say("* BYE logging out")
                    await say(f"{tag} OK LOGOUT completed")
                    return
                elif not authed:
                    await say(f"{tag} BAD log in first")
                elif command in {"SELECT", "EXAMINE"}:
                    if args.strip('"') != self.folder:
                        await say(f"{tag} NO no such folder")
                        continue
                    selected = True
                    await say(f"* {len(self.messages)} EXISTS")
                    await say("* 0 RECENT")
                    await say(f"* OK [UIDVALIDITY {self.uidvalidity}] UIDs valid")
                    await say(f"* OK [UIDNEXT {max(self.messages, default=0) + 1}] next")
                    await say("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)")
                    await say(f"{tag} OK [READ-WRITE] {command} completed")
                elif command == "STATUS":
                    name = args.split(" ", 1)[0].strip('"')
                    await say(f'* STATUS "{name}" (MESSAGES {len(self.messages)} UIDVALIDITY {self.uidvalidity} '
                              f"UIDNEXT {max(self.messages, default=0) + 1})")
                    await say(f"{tag} OK STATUS completed")
                elif command == "UID" and selected:
                    await self._uid(tag, args, say)
                else:
                    await say(f"{tag} BAD {command} is not supported here")
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            if task is not None:
                self._sessions.discard(task)

    async def _uid(self, tag: str, args: str, say: object) -> None:
        sub, _, rest = args.partition(" ")
        sub = sub.upper()
        send = say  # type: ignore[assignment]
        uids = sorted(self.messages)
        if sub == "SEARCH":
            found = re.search(r"UID (\d+|\*):(\d+|\*)", rest, re.IGNORECASE)
            if found:
                top = uids[-1] if uids else 0
                low = top if found.group(1) == "*" else int(found.group(1))
                high = top if found.group(2) == "*" else int(found.group(2))
                low, high = min(low, high), max(low, high)
                hits = [u for u in uids if low <= u <= high] or ([top] if top and found.group(2) == "*" else [])
            else:
                hits = uids
            await send("* SEARCH " + " ".join(str(u) for u in hits))  # type: ignore[operator]
            await send(f"{tag} OK SEARCH completed")  # type: ignore[operator]
        elif sub == "FETCH":
            wanted, _, _items = rest.partition(" ")
            for piece in wanted.split(","):
                low_text, _, high_text = piece.partition(":")
                low = int(low_text)
                high = (uids[-1] if uids else 0) if high_text == "*" else int(high_text or low_text)
                for uid in uids:
                    if low <= uid <= high:
                        raw = self.messages[uid]
                        seq = uids.index(uid) + 1
                        await send(f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}".encode() + b"\r\n" + raw
                                   + b")")  # type: ignore[operator]
            await send(f"{tag} OK FETCH completed")  # type: ignore[operator]
        else:
            await send(f"{tag} BAD UID {sub} is not supported here")  # type: ignore[operator]
