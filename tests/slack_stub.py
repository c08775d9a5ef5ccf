"""A small local stand-in for the Slack Web API, for the real slack-sdk client to talk to.

It listens on 127.0.0.1 on a free port, answers ``auth.test``, ``chat.postMessage``,
``chat.update`` and ``conversations.history`` like Slack does, keeps the channel's
messages (with their metadata), records every request, and plays scripted faults:
HTTP errors with headers (429 + Retry-After, 500), Slack errors (``ok: false``),
and a response lost after the message was posted (the connection is dropped).

For answers in Slack it also answers ``apps.connections.open`` (with the URL of a
:class:`socket_mode_stub.SocketModeStub` given as ``socket_mode``), keeps thread replies
(``chat.postMessage`` with ``thread_ts``, and people's replies added with :meth:`reply`) for
``conversations.replies``, and records ``chat.postEphemeral``.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Fault:
    status: int = 200
    error: str | None = None  # a Slack error code: {"ok": false, "error": ...}
    headers: dict = field(default_factory=dict)
    drop_after_posting: bool = False  # post the message, then close the connection without answering
    echo_auth: bool = False  # a misbehaving endpoint or proxy: the Authorization header echoed in the error


class SlackStub:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.channels: dict[str, list[dict]] = defaultdict(list)
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.threads: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (channel, parent ts) -> replies
        self.ephemeral: list[dict] = []
        self.socket_mode = None  # a SocketModeStub: apps.connections.open hands out its URL
        self._ts = 1_700_000_000
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1]
                stub._handle(self, method, body, self.headers.get("Authorization", ""))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- test-facing API ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> "SlackStub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, times: int = 1, **fault) -> None:
        """The next ``times`` calls of ``method`` get this fault."""
        self.faults[method].extend(Fault(**fault) for _ in range(times))

    def calls(self, method: str) -> list[dict]:
        return [body for m, body in self.requests if m == method]

    def posted(self, channel: str | None = None) -> list[dict]:
        """Messages as they now stand in Slack (after updates)."""
        chans = [channel] if channel else list(self.channels)
        return [m for c in chans for m in self.channels[c]]

    # --- the API -------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str, body: dict, auth: str = "") -> None:
        with self._lock:
            self.requests.append((method, body))
            fault = self.faults[method].pop(0) if self.faults[method] else None
        if fault and fault.echo_auth and fault.status == 200:
            return self._reply(handler, 200, {"ok": False, "error": f"invalid_auth (you sent {auth})"})
        if fault and fault.echo_auth:
            return self._reply_text(handler, fault.status, f"<html>Bad gateway. Request headers: "
                                                           f"Authorization: {auth}</html>")
        if fault and fault.status != 200:
            return self._reply(handler, fault.status, {"ok": False, "error": "server_error"}, fault.headers)
        if fault and fault.error:
            return self._reply(handler, 200, {"ok": False, "error": fault.error})
        result = getattr(self, "_" + method.replace(".", "_"), None)
        if result is None:
            return self._reply(handler, 200, {"ok": False, "error": "unknown_method"})
        answer = result(body)
        if fault and fault.drop_after_posting:
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        self._reply(handler, 200, answer)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _reply_text(handler: BaseHTTPRequestHandler, status: int, text: str) -> None:
        data = text.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _auth_test(self, body: dict) -> dict:
        return {"ok": True, "user_id": "UBOT", "team_id": "T1"}

    def _chat_postMessage(self, body: dict) -> dict:
        with self._lock:
            self._ts += 1
            ts = f"{self._ts}.000100"
            metadata = body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            message = {"ts": ts, "text": body.get("text"), "blocks": body.get("blocks"), "metadata": metadata}
            if body.get("thread_ts"):  # a reply in a thread: not one of the channel's messages
                message.update(thread_ts=body["thread_ts"], bot_id="BATTENDBOT", user="UBOT")
                self.threads[(body["channel"], body["thread_ts"])].append(message)
            else:
                self.channels[body["channel"]].append(message)
        return {"ok": True, "channel": body["channel"], "ts": ts, "message": message}

    def _chat_update(self, body: dict) -> dict:
        with self._lock:
            for message in self.channels[body["channel"]]:
                if message["ts"] == body["ts"]:
                    message.update(text=body.get("text"), blocks=body.get("blocks"))
                    return {"ok": True, "channel": body["channel"], "ts": body["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _conversations_history(self, body: dict) -> dict:
        messages = list(reversed(self.channels.get(body["channel"], [])))
        if not str(body.get("include_all_metadata")).lower() in ("true", "1"):
            messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
        return {"ok": True, "messages": messages, "has_more": False}

    # --- answers in Slack ------------------------------------------------------------

    def reply(self, channel: str, thread_ts: str, user: str, text: str) -> dict:
        """A person replies in a thread (what Slack would then return from conversations.replies)."""
        with self._lock:
            self._ts += 1
            message = {"type": "message", "ts": f"{self._ts}.000200", "thread_ts": thread_ts, "user": user,
                       "text": text}
            self.threads[(channel, thread_ts)].append(message)
        return message

    def thread_replies(self, channel: str, thread_ts: str) -> list[dict]:
        return list(self.threads.get((channel, thread_ts), []))

    def wait_for(self, method: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
        """Wait (bounded) until ``method`` has been called ``count`` times in all; returns its calls."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.calls(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {count} call(s) of {method}; "
                                     f"got {len(self.calls(method))}")
            time.sleep(0.02)
        return self.calls(method)

    def _apps_connections_open(self, body: dict) -> dict:
        if self.socket_mode is None:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_mode.url}

    def _conversations_replies(self, body: dict) -> dict:
        channel, ts = body["channel"], body["ts"]
        parent = next((m for m in self.channels.get(channel, []) if m["ts"] == ts), None)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = [{**parent, "thread_ts": ts, "reply_count": len(self.threads.get((channel, ts), []))}]
        replies += self.thread_replies(channel, ts)
        return {"ok": True, "messages": replies, "has_more": False}

    def _chat_postEphemeral(self, body: dict) -> dict:
        with self._lock:
            self.ephemeral.append({"channel": body.get("channel"), "user": body.get("user"),
                                   "text": body.get("text")})
        return {"ok": True, "message_ts": f"{self._ts}.000900"}
