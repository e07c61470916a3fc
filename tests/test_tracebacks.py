"""Tracebacks for logs keep where an exception came from and drop what it said."""

from __future__ import annotations

import concurrent.futures as cf

import pytest

from wiretrim.tracebacks import scrubbed

SECRET = "PROMPT-TEXT-3e1f"


def parse_line(line: str) -> int:
    return int(line)


def wrap(line: str) -> None:
    try:
        parse_line(line)
    except ValueError as e:
        raise RuntimeError(f"could not parse {line!r}") from e


def test_types_and_frames_but_no_message() -> None:
    with pytest.raises(RuntimeError) as info:
        wrap(f"rows: {SECRET}")
    text = scrubbed(info.value)
    assert SECRET not in text
    assert text.startswith("RuntimeError at test_tracebacks.py:")
    assert "in wrap" in text and "(from ValueError at test_tracebacks.py:" in text and "in parse_line" in text
    assert text.endswith("; message not logged")


def test_a_key_error_keeps_its_key_to_itself() -> None:
    with pytest.raises(KeyError) as info:
        {}[SECRET]
    assert SECRET not in scrubbed(info.value)


def test_a_process_pool_remote_traceback_is_not_repeated() -> None:
    with cf.ProcessPoolExecutor(1) as pool, pytest.raises(ValueError) as info:
        pool.submit(parse_line, SECRET).result()
    assert SECRET in str(info.value.__cause__)  # the pool's remote traceback quotes it ...
    text = scrubbed(info.value)
    assert SECRET not in text  # ... the log line does not
    assert "(from _RemoteTraceback" in text


def test_an_exception_never_raised_has_no_frames() -> None:
    assert scrubbed(ValueError(SECRET)) == "ValueError; message not logged"


def test_a_cycle_in_the_chain_ends() -> None:
    a, b = ValueError(SECRET), TypeError(SECRET)
    a.__context__, b.__context__ = b, a
    assert scrubbed(a) == "ValueError (from TypeError); message not logged"
