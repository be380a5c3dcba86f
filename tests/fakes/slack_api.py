"""A fake Slack Web API: a real aiohttp server on an ephemeral port that answers like Slack and records every call.

Tests point slack_sdk's real ``AsyncWebClient(base_url=fake.base_url)`` at it, so the code under test goes
through the same HTTP, JSON/form encoding, error and retry paths it takes against slack.com.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
# Fields Slack accepts as JSON text in form bodies; decoded so tests see the same shape whichever encoding was used.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")

Answer = dict[str, Any]


@dataclass
class Call:
    """One request as the fake saw it. ``failed`` marks attempts that got no good answer (HTTP error or ok=false)."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    failed: bool = False
    status: int = 200
    at: float = field(default_factory=time.monotonic)  # when it arrived, to check Retry-After was honoured


@dataclass(frozen=True)
class _Fault:
    status: int = 200
    error: str = ""
    retry_after: int | None = None
    hang: float = 0.0


class FakeSlackAPI:
    """Answers the Web API methods Zonedesk uses, with failure injection for retry and outage tests."""

    def __init__(self, token: str = "xoxb-test", *, team_id: str = "T1", team: str = "Acme") -> None:
        self.token = token
        self.team_id = team_id
        self.team = team
        self.down = False  # outage switch: every request answers 503 while set
        self.calls: list[Call] = []
        self.users: dict[str, Answer] = {}
        self.messages: dict[tuple[str, str], Answer] = {}  # (channel, ts) -> message, as posted/updated by the bot
        self.views: dict[str, Answer] = {}
        self.base_url = ""
        self.root_url = ""
        self._reactions: set[tuple[str, str, str]] = set()
        self.files: dict[str, tuple[bytes, str]] = {}  # path under /files-pri/ -> (bytes, mimetype)
        self.file_objects: dict[str, Answer] = {}  # file id -> the file object (files.info)
        self._homes: dict[str, str] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Condition | None = None
        self._closing: asyncio.Event | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "api.test": lambda a: {"ok": True, "args": a},
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._post_message,
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "files.info": self._files_info,
            "reactions.add": self._reactions_add,
            "views.open": lambda a: self._store_view(a, None),
            "views.push": lambda a: self._store_view(a, None),
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind 127.0.0.1 on a free port; ``base_url`` ends in ``/api/`` because slack_sdk urljoins method names."""
        # Created here, not in __init__, so they belong to the loop that runs the server.
        self._changed, self._closing = asyncio.Condition(), asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/response/{hook}", self._handle)
        app.router.add_get("/files-pri/{path:.+}", self._file)
        # handler_cancellation: a request the client gave up on (timeout) stops, so it stays recorded as failed.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/api/"
        return self

    async def stop(self) -> None:
        """Wake hung requests and close the server."""
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def response_url(self, hook: str = "default") -> str:
        """A ``response_url`` for command/interaction bodies; posts to it are recorded as method ``response_url``."""
        return f"{self.root_url}/response/{hook}"

    # -- test set-up -----------------------------------------------------------------------------------------

    def add_file(self, file_id: str, name: str, data: bytes, mimetype: str = "application/octet-stream",
                 **extra: Any) -> Answer:
        """A file someone uploaded: served at its ``url_private`` to the bot's token only. Returns the file
        object as Slack puts it in a message event's ``files``."""
        path = f"{self.team_id}-{file_id}/{name}"
        self.files[path] = (data, mimetype)
        url = f"{self.root_url}/files-pri/{path}"
        item: Answer = {"id": file_id, "created": 1732000000, "timestamp": 1732000000, "name": name, "title": name,
                        "mimetype": mimetype, "filetype": name.rsplit(".", 1)[-1], "user": "U0", "mode": "hosted",
                        "size": len(data), "url_private": url, "url_private_download": f"{url}?download=1",
                        "is_external": False, "is_public": False}
        item.update(extra)
        self.file_objects[file_id] = item
        return item

    def add_user(
        self, user_id: str, email: str, name: str, is_bot: bool = False, team_id: str = "T1", tz: str = "Europe/Oslo",
        locale: str | None = None,
    ) -> Answer:
        """Register a person (or bot) for ``users.info``; returns the user object Slack would.

        ``locale`` (e.g. ``nb-NO``) is the language their Slack client is set to, answered only when
        ``users.info`` is asked with ``include_locale``, as Slack does.
        """
        profile: Answer = {"real_name": name, "display_name": name.split()[0] if name else "", "team": team_id}
        if email:
            profile["email"] = email
        user: Answer = {"id": user_id, "team_id": team_id, "name": name.lower().replace(" ", "."), "real_name": name,
                        "deleted": False, "is_bot": is_bot, "tz": tz, "profile": profile}
        if locale:
            user["locale"] = locale
        self.users[user_id] = user
        return user

    def fail_next(self, method: str, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls to ``method`` answer HTTP ``status`` (server trouble, to exercise retries)."""
        self._inject(method, times, _Fault(status=status, error="fatal_error"))

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls answer 429 ``ratelimited`` with ``Retry-After``, as Slack's tier limits do."""
        self._inject(method, times, _Fault(status=429, error="ratelimited", retry_after=retry_after))

    def error_next(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """The next ``times`` calls answer HTTP 200 with ``ok: false`` and ``error``."""
        self._inject(method, times, _Fault(error=error))

    def hang_next(self, method: str, times: int = 1, seconds: float = 5.0) -> None:
        """The next ``times`` calls wait ``seconds`` before answering, so client timeouts can be tested."""
        self._inject(method, times, _Fault(hang=seconds))

    def _inject(self, method: str, times: int, fault: _Fault) -> None:
        # One queue per method, in order, so "429 then 500 then success" sequences are expressible.
        self._faults.setdefault(method, deque()).extend([fault] * times)

    # -- assertions ------------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Every attempt at ``method``, failed ones included."""
        return [c for c in self.calls if c.method == method]

    def delivered(self, method: str) -> list[Call]:
        """Only the calls to ``method`` that succeeded: what a user would actually see."""
        return [c for c in self.calls if c.method == method and not c.failed]

    def call_count(self, method: str) -> int:
        return len(self.calls_to(method))

    def last(self, method: str) -> Call:
        """The latest call to ``method``; fails loudly when there is none."""
        calls = self.calls_to(method)
        if not calls:
            raise AssertionError(f"no call to {method}; seen: {self._seen()}")
        return calls[-1]

    def clear(self) -> None:
        """Forget recorded calls (not users, messages or pending faults)."""
        self.calls.clear()

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        delivered: bool = False,
    ) -> None:
        """Wait until ``count`` calls (or, with ``delivered``, successful calls) to ``method`` were recorded."""
        assert self._changed is not None, "start() the fake first"
        seen = self.delivered if delivered else self.calls_to
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(seen(method)) >= count)
        except TimeoutError:
            kind = "delivered " if delivered else ""
            raise TimeoutError(
                f"waited {timeout}s for {count} {kind}call(s) to {method}, got {len(seen(method))}; "
                f"seen: {self._seen()}"
            ) from None

    def _seen(self) -> str:
        counts = Counter(f"{c.method}{' (failed)' if c.failed else ''}" for c in self.calls)
        return ", ".join(f"{m} x{n}" for m, n in counts.items()) or "nothing"

    # -- HTTP ------------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        hook = request.match_info.get("hook")
        args = await _read_args(request)
        token = str(args.pop("token", "")) or request.headers.get("Authorization", "").removeprefix("Bearer ")
        if hook is not None:
            args["_hook"] = hook
        method = "response_url" if hook is not None else request.match_info["method"]
        call = Call(method, args, dict(request.headers))
        self.calls.append(call)  # outcome filled in by _settle before anyone is woken
        queue = self._faults.get(method)
        fault = queue.popleft() if queue and not self.down else None
        if fault is not None and fault.hang:
            await self._settle(call, 0, failed=True)  # the attempt is visible, as failed, while it hangs
            assert self._closing is not None
            try:
                await asyncio.wait_for(self._closing.wait(), fault.hang)
                return await self._answer(call, 503, {"ok": False, "error": "service_unavailable"})
            except TimeoutError:
                pass
        if self.down:
            return await self._answer(call, 503, {"ok": False, "error": "service_unavailable"})
        if fault is not None and fault.error:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return await self._answer(call, fault.status, {"ok": False, "error": fault.error}, headers)
        if hook is not None:  # a response_url is a capability URL: no token
            return await self._answer(call, 200, {"ok": True})
        if token != self.token:
            return await self._answer(call, 200, {"ok": False, "error": "invalid_auth"})
        act = self._methods.get(method)
        return await self._answer(call, 200, act(args) if act else {"ok": False, "error": "unknown_method"})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A file at its url_private: as Slack does, only with the bot's token in the Authorization header;
        without it (or with a wrong one) Slack answers its sign-in page, an HTML page, with 200."""
        call = Call("files-pri", {"path": request.match_info["path"]}, dict(request.headers))
        self.calls.append(call)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        found = self.files.get(request.match_info["path"])
        if self.down:
            await self._settle(call, 503, failed=True)
            return web.Response(status=503, text="service unavailable")
        if token != self.token or found is None:
            await self._settle(call, 200, failed=True)
            return web.Response(text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>",
                                content_type="text/html")
        await self._settle(call, 200, failed=False)
        data, mimetype = found
        return web.Response(body=data, headers={"Content-Type": mimetype})

    async def _answer(
        self, call: Call, status: int, body: Answer, headers: dict[str, str] | None = None
    ) -> web.StreamResponse:
        await self._settle(call, status, failed=status != 200 or body.get("ok") is not True)
        if call.method == "response_url":  # Slack's webhooks answer plain text
            return web.Response(status=status, text="ok" if body.get("ok") else str(body.get("error")),
                                content_type="text/html", headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def _settle(self, call: Call, status: int, *, failed: bool) -> None:
        call.status, call.failed = status, failed
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # -- methods ---------------------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._seq += 1
        micros = 1_700_000_000_000_000 + self._seq * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _auth_test(self, args: dict[str, Any]) -> Answer:
        return {"ok": True, "url": f"https://{self.team.lower()}.slack.com/", "team": self.team, "user": "zonedesk",
                "team_id": self.team_id, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _users_info(self, args: dict[str, Any]) -> Answer:
        user = self.users.get(str(args.get("user", "")))
        if not user:
            return {"ok": False, "error": "user_not_found"}
        if str(args.get("include_locale", "")).lower() not in {"true", "1"}:
            user = {k: v for k, v in user.items() if k != "locale"}  # Slack tells the locale only when asked
        return {"ok": True, "user": user}

    def _conversations_open(self, args: dict[str, Any]) -> Answer:
        raw = args.get("users", "")
        users = raw if isinstance(raw, list) else [u for u in str(raw).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel = "D" + users[0] if len(users) == 1 else "G" + "".join(sorted(users))
        return {"ok": True, "channel": {"id": channel}}

    def _post_message(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        if channel[0] in "UW":  # posting to a user id lands in the DM with them
            channel = "D" + channel
        ts = self._next_ts()
        message: Answer = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "team": self.team_id,
                           "ts": ts, "text": args.get("text", "")}
        message.update({k: args[k] for k in ("blocks", "attachments", "thread_ts", "metadata") if k in args})
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _visible(self, message: Answer, args: dict[str, Any]) -> Answer:
        """Slack returns a message's metadata only when asked with include_all_metadata."""
        if str(args.get("include_all_metadata", "")).lower() in {"true", "1"}:
            return message
        return {k: v for k, v in message.items() if k != "metadata"}

    def _replies(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if (channel, ts) not in self.messages and not any(k[0] == channel for k in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        found = [m for (c, t), m in sorted(self.messages.items())
                 if c == channel and (t == ts or m.get("thread_ts") == ts)]
        return {"ok": True, "messages": [self._visible(m, args) for m in found], "has_more": False}

    def _history(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel", ""))
        found = [m for (c, _), m in sorted(self.messages.items(), reverse=True)
                 if c == channel and not m.get("thread_ts")][: int(args.get("limit", 100))]
        return {"ok": True, "messages": [self._visible(m, args) for m in found], "has_more": False}

    def _post_ephemeral(self, args: dict[str, Any]) -> Answer:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found" if not args.get("channel") else "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _update(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        message = self.messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.update({k: args[k] for k in ("text", "blocks", "attachments", "metadata") if k in args})
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _delete(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if self.messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _files_info(self, args: dict[str, Any]) -> Answer:
        found = self.file_objects.get(str(args.get("file")))
        return {"ok": True, "file": found} if found is not None else {"ok": False, "error": "file_not_found"}

    def _permalink(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        link = f"https://{self.team.lower()}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _reactions_add(self, args: dict[str, Any]) -> Answer:
        key = (str(args.get("channel", "")), str(args.get("timestamp", "")), str(args.get("name", "")))
        if key in self._reactions:  # Slack refuses a duplicate: retried sends must tolerate it
            return {"ok": False, "error": "already_reacted"}
        self._reactions.add(key)
        return {"ok": True}

    def _store_view(self, args: dict[str, Any], view_id: str | None, root: str | None = None) -> Answer:
        view = args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if view_id is None:
            self._seq += 1
            view_id = f"V{self._seq:08d}"
        stored: Answer = {"id": view_id, "team_id": self.team_id, "type": "modal", "blocks": [], "private_metadata": "",
                          "callback_id": "", "external_id": "", "state": {"values": {}}, "hash": f"{view_id}.h",
                          "root_view_id": root or view_id, "previous_view_id": None, "app_id": "A1", "bot_id": BOT_ID}
        stored.update(view)
        stored["id"] = view_id
        self.views[view_id] = stored
        return {"ok": True, "view": stored}

    def _views_update(self, args: dict[str, Any]) -> Answer:
        by_external = {v["external_id"]: v["id"] for v in self.views.values() if v["external_id"]}
        view_id = args.get("view_id") or by_external.get(args.get("external_id"))
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        return self._store_view(args, str(view_id), self.views[str(view_id)]["root_view_id"])

    def _views_publish(self, args: dict[str, Any]) -> Answer:
        user_id = str(args.get("user_id", ""))
        if user_id not in self._homes:
            self._seq += 1
            self._homes[user_id] = f"VH{self._seq:07d}"
        return self._store_view(args, self._homes[user_id])


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Merge query string, form and JSON bodies: slack_sdk sends each, depending on the method."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body and request.content_type == "application/json":
        body = await request.json()
        args.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.startswith(("[", "{")):
            args[key] = json.loads(value)
    return args
