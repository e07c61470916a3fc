from __future__ import annotations

from wiretrim.addon.breaker import Breaker, key


def test_trips_for_the_cooldown_then_closes() -> None:
    now = [100.0]
    b = Breaker(clock=lambda: now[0])
    k = key("API.openai.com", "/v1/chat/completions?x=1", "gpt-4o")
    assert k == ("api.openai.com", "/v1/chat/completions", "gpt-4o")
    assert not b.is_open(k)
    b.trip(k, 60)
    assert b.is_open(k)
    assert not b.is_open(key("api.openai.com", "/v1/chat/completions", "gpt-4o-mini"))
    now[0] += 59.9
    assert b.is_open(k)
    now[0] += 0.1
    assert not b.is_open(k)
    assert b.open_keys() == []


def test_unknown_model_is_its_own_key() -> None:
    b = Breaker(clock=lambda: 0.0)
    b.trip(key("h", "/p", None), 10)
    assert b.is_open(("h", "/p", ""))
    assert b.open_keys() == [("h", "/p", "")]
