from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from wiretrim.addon import channel
from wiretrim.addon.channel import Channel, ChannelClosedError


class Received:
    def __init__(self) -> None:
        self.frames: list[tuple[Any, bytes]] = []
        self.closed = threading.Event()
        self.cond = threading.Condition()

    def on_frame(self, message: Any, blob: bytes) -> None:
        with self.cond:
            self.frames.append((message, blob))
            self.cond.notify_all()

    def wait_for(self, n: int) -> list[tuple[Any, bytes]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.frames) >= n, 10)
        return self.frames


@pytest.fixture
def pair() -> Iterator[tuple[Channel, socket.socket, Received]]:
    ours, theirs = socket.socketpair()
    got = Received()
    ch = Channel(ours, got.on_frame, got.closed.set)
    yield ch, theirs, got
    ch.close()
    theirs.close()


def echo(sock: socket.socket) -> None:
    """The other end: answers every frame with its message and its blob reversed."""
    stream = sock.makefile("rb")
    try:
        while True:
            message, blob = channel.read_frame(stream)
            channel.send_blocking(sock, channel.pack(("echo", message), blob[::-1]))
    except (ChannelClosedError, OSError):
        pass


def test_frames_carry_a_message_and_raw_bytes_both_ways(
    pair: tuple[Channel, socket.socket, Received],
) -> None:
    ch, theirs, got = pair
    threading.Thread(target=echo, args=(theirs,), daemon=True).start()
    ch.send(("job", 1), b"abc")
    ch.send(("job", 2))
    assert got.wait_for(2) == [(("echo", ("job", 1)), b"cba"), (("echo", ("job", 2)), b"")]


def test_send_does_not_wait_for_a_peer_that_is_not_reading(
    pair: tuple[Channel, socket.socket, Received],
) -> None:
    ch, theirs, got = pair
    big = bytes(range(256)) * (64 * 1024)  # 16 MiB: far more than a socket buffer holds
    t = time.perf_counter()
    ch.send(("big",), big)
    ch.send(("small",), b"x")
    assert time.perf_counter() - t < 1.0  # the writer thread waits, not the caller
    threading.Thread(target=echo, args=(theirs,), daemon=True).start()
    frames = got.wait_for(2)
    assert [m for m, _ in frames] == [("echo", ("big",)), ("echo", ("small",))]  # order kept
    assert frames[0][1] == big[::-1]


def test_the_peer_going_away_closes_the_channel(pair: tuple[Channel, socket.socket, Received]) -> None:
    ch, theirs, got = pair
    theirs.close()
    assert got.closed.wait(10)
    ch.close()
    with pytest.raises(ChannelClosedError):
        ch.send(("late",))
