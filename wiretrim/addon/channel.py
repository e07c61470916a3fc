"""Frames between the proxy and its engine worker process, over one socket pair.

A frame is a small pickled message plus an optional blob of raw bytes (a request body one
way, a rewritten body the other) sent after it as it is, so a body is never copied into a
pickle nor out of one. Header: the two lengths (``!IQ``).

The proxy's side (`Channel`) never blocks its caller: a frame goes out at once when the
socket takes it whole, and otherwise the rest is handed to a writer thread (a worker stuck
in a long job stops reading; the event loop must not wait for it). One reader thread turns
the replies into calls of `on_frame`. Compared with a process pool, a round trip crosses one
thread instead of three, which is most of the pool's cost for a small body.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from typing import IO, Any

logger = logging.getLogger(__name__)

HEADER = struct.Struct("!IQ")  # message length, blob length
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # 0 where a send cannot be made non-blocking


class ChannelClosedError(Exception):
    """The other side is gone (it exited, was killed, or the channel was closed)."""


def pack(message: Any, blob: bytes | None) -> list[bytes | memoryview]:
    meta = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return [HEADER.pack(len(meta), len(blob or b"")), meta, memoryview(blob or b"")]


def send_blocking(sock: socket.socket, parts: list[bytes | memoryview]) -> None:
    """All of `parts`, in order, however many calls the socket needs."""
    views = [memoryview(p) for p in parts if len(p)]
    while views:
        _advance(views, sock.sendmsg(views))


def _advance(views: list[memoryview], sent: int) -> None:
    """Drop from the front of `views` the `sent` bytes a send took."""
    while views and sent >= len(views[0]):
        sent -= len(views[0])
        views.pop(0)
    if sent:
        views[0] = views[0][sent:]


def read_frame(stream: IO[bytes]) -> tuple[Any, bytes]:
    """The next (message, blob); ChannelClosedError at the end of the stream."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        raise ChannelClosedError
    meta_len, blob_len = HEADER.unpack(head)
    meta = stream.read(meta_len)
    blob = stream.read(blob_len) if blob_len else b""
    if len(meta) < meta_len or len(blob) < blob_len:
        raise ChannelClosedError
    return pickle.loads(meta), blob


class Channel:
    """The proxy's end: `send` never blocks; replies arrive on the reader thread."""

    def __init__(self, sock: socket.socket, on_frame: Callable[[Any, bytes], None],
                 on_closed: Callable[[], None]) -> None:
        self._sock = sock
        self._on_frame = on_frame
        self._on_closed = on_closed
        self._lock = threading.Lock()
        self._backlog: deque[list[memoryview]] = deque()  # frames (or their rest) for the writer
        self._writing = False  # the writer thread holds a frame it has not finished sending
        self._wake = threading.Condition(self._lock)
        self.closed = False
        self._reader = threading.Thread(target=self._read, name="wiretrim-engine-reader", daemon=True)
        self._writer = threading.Thread(target=self._write, name="wiretrim-engine-writer", daemon=True)
        self._reader.start()
        self._writer.start()

    def send(self, message: Any, blob: bytes | None = None) -> None:
        """Queue one frame; raises ChannelClosedError once the channel is closed."""
        parts = [memoryview(p) for p in pack(message, blob) if len(p)]
        with self._lock:
            if self.closed:
                raise ChannelClosedError
            if not self._backlog and not self._writing and _DONTWAIT:
                try:
                    sent = self._sock.sendmsg(parts, [], _DONTWAIT)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    raise ChannelClosedError from None
                _advance(parts, sent)
                if not parts:
                    return
            self._backlog.append(parts)
            self._wake.notify()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._backlog.clear()
            self._wake.notify()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader (and a writer blocked in send)
        self._sock.close()

    def _write(self) -> None:
        while True:
            with self._lock:
                self._wake.wait_for(lambda: self._backlog or self.closed)
                if self.closed:
                    return
                parts = self._backlog.popleft()
                self._writing = True
            try:
                send_blocking(self._sock, list(parts))
            except OSError:
                return  # the reader sees the end and reports it
            finally:
                with self._lock:
                    self._writing = False

    def _read(self) -> None:
        stream = self._sock.makefile("rb")
        try:
            while True:
                message, blob = read_frame(stream)
                self._on_frame(message, blob)
        except (ChannelClosedError, OSError):
            pass
        except Exception:  # a reply that cannot be read: the worker counts as lost, never as silent
            logger.exception("wiretrim: unreadable reply from the engine worker")
        finally:
            stream.close()
            self._on_closed()
