"""A loopback stand-in for Slack's Socket Mode websocket, for slack-sdk's built-in client.

The Web API stub's ``apps.connections.open`` hands out :attr:`SocketModeStub.url`
(``ws://127.0.0.1:<port>/link/?ticket=…``); the client connects there with a plain
websocket handshake (slack-sdk speaks unencrypted websockets to any port but 443). The stub
answers pings with pongs, sends envelopes (``block_actions``, ``events_api`` messages) as
Slack does, records every acknowledgement the client sends back, and can drop the connection
without a word, as a network does. Everything waits with a bounded timeout.

Only the standard library: RFC 6455 framing for text, ping, pong and close frames, which is
all Socket Mode uses.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class _Conn:
    def __init__(self, sock: socket.socket, number: int):
        self.sock = sock
        self.number = number
        self.send_lock = threading.Lock()
        self.closed = False

    def send(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n <= 125:
            header += bytes([n])
        elif n <= 0xFFFF:
            header += struct.pack("!BH", 126, n)
        else:
            header += struct.pack("!BQ", 127, n)
        with self.send_lock:
            self.sock.sendall(header + payload)

    def recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data


class SocketModeStub:
    """The websocket end of Socket Mode, on 127.0.0.1 and a free port."""

    def __init__(self, journal: list | None = None):
        self.journal = journal if journal is not None else []  # ("ws:ack", {...}) beside the Web API's requests
        self.acks: list[str] = []
        self.connections: list[_Conn] = []
        self._envelopes = itertools.count(1)
        self._cond = threading.Condition()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.2)
        self._running = True
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept.start()

    # --- test-facing API ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.getsockname()[1]}/link/?ticket=t{len(self.connections) + 1}"

    @property
    def live(self) -> list[_Conn]:
        with self._cond:
            return [c for c in self.connections if not c.closed]

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> _Conn:
        """Wait until ``count`` connections have been opened in all and one is open; return the newest."""
        return self._wait(lambda: len(self.connections) >= count and self.live, timeout,
                          f"{count} websocket connection(s)")[-1]

    def send(self, envelope_type: str, payload: dict, *, accepts_response_payload: bool = False) -> str:
        """Send one envelope on the newest open connection; returns its envelope id."""
        envelope_id = f"env-{next(self._envelopes)}"
        message = {"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                   "accepts_response_payload": accepts_response_payload}
        self.wait_connected().send(TEXT, json.dumps(message).encode())
        return envelope_id

    def action(self, user: str, channel: str, message_ts: str, action: dict) -> str:
        """A ``block_actions`` envelope: ``user`` pressed ``action`` on message ``message_ts``."""
        return self.send("interactive", {
            "type": "block_actions", "user": {"id": user, "username": user.lower()}, "team": {"id": "T1"},
            "channel": {"id": channel}, "container": {"type": "message", "message_ts": message_ts,
                                                      "channel_id": channel},
            "message": {"ts": message_ts}, "trigger_id": "1.2.3", "actions": [action]}, accepts_response_payload=False)

    def message_event(self, event: dict) -> str:
        """An ``events_api`` envelope carrying one ``message`` event."""
        return self.send("events_api", {"type": "event_callback", "team_id": "T1",
                                        "event": {"type": "message", **event}})

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> None:
        self._wait(lambda: envelope_id in self.acks, timeout, f"the acknowledgement of {envelope_id}")

    def drop(self) -> None:
        """Close every connection abruptly: no close frame, as when the network goes away."""
        for conn in self.live:
            conn.closed = True
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.sock.close()
        with self._cond:
            self._cond.notify_all()

    def stop(self) -> None:
        self._running = False
        self.drop()
        self._server.close()
        self._accept.join(5)
        for t in self._threads:
            t.join(5)

    # --- the server -----------------------------------------------------------------

    def _wait(self, ready: Callable[[], object], timeout: float, what: str):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = ready()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self._cond.wait(min(left, 0.1))

    def _accept_loop(self) -> None:
        while self._running:
            try:
                sock, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(1024)
                if not chunk:
                    sock.close()
                    return
                request += chunk
            headers = {}
            for line in request.decode("latin-1").split("\r\n")[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + _GUID).encode()).digest())
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        except (OSError, KeyError):
            sock.close()
            return
        with self._cond:
            conn = _Conn(sock, len(self.connections) + 1)
            self.connections.append(conn)
            self._cond.notify_all()
        try:
            conn.send(TEXT, json.dumps({"type": "hello", "num_connections": 1,
                                        "connection_info": {"app_id": "A1"}}).encode())
            self._read(conn)
        except (OSError, ConnectionError):
            pass
        finally:
            conn.closed = True
            with self._cond:
                self._cond.notify_all()

    def _read(self, conn: _Conn) -> None:
        while not conn.closed:
            b1, b2 = conn.recv_exact(2)
            opcode, n = b1 & 0x0F, b2 & 0x7F
            if n == 126:
                n = struct.unpack("!H", conn.recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", conn.recv_exact(8))[0]
            mask = conn.recv_exact(4) if b2 & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(conn.recv_exact(n)))
            if opcode == PING:
                conn.send(PONG, data)
            elif opcode == CLOSE:
                conn.send(CLOSE, data[:2])
                return
            elif opcode == TEXT:
                message = json.loads(data.decode())
                if "envelope_id" in message:
                    with self._cond:
                        self.acks.append(message["envelope_id"])
                        self.journal.append(("ws:ack", message))
                        self._cond.notify_all()
