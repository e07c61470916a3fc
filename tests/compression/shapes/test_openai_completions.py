import json

import pytest

from tests.compression.support import make_engine
from wiretrim.compression.shapes import get

NAME = "openai-completions"
SHAPE = get(NAME)
TEXT = "Summarise the following report.\n" + "The quarterly numbers were flat. " * 20


def test_string_prompt():
    slots = list(SHAPE.slots({"model": "gpt-3.5-turbo-instruct", "prompt": TEXT}))
    assert [(s.path, s.kind, s.role, s.turn, s.query) for s in slots] == [
        (("prompt",), "user_text", "user", 0, "")
    ]


def test_string_array_prompt_is_one_slot_per_prompt():
    slots = list(SHAPE.slots({"prompt": ["first", "second"]}))
    assert [(s.path, s.turn) for s in slots] == [(("prompt", 0), 0), (("prompt", 1), 1)]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"echo": True}, "echo"),
        ({"suffix": "\n    return x"}, "suffix"),
        ({"suffix": ""}, "suffix"),
        ({"n": 2}, "n>1"),
        ({"best_of": 2}, "best_of>1"),
        ({"prompt": [1734, 374, 264]}, "token_prompt"),
        ({"prompt": [[1734, 374], [264]]}, "token_prompt"),
        ({"prompt": ["text", 264]}, "token_prompt"),
        ({"prompt": None}, "no_text_prompt"),
        ({"prompt": [TEXT, TEXT]}, "repeated_prompts"),
    ],
)
def test_skips(extra, reason):
    body = {"model": "m", "prompt": TEXT, **extra}
    assert SHAPE.inspect(body).skip == reason
    result = make_engine().rewrite(json.dumps(body).encode(), NAME)
    assert (result.body, result.skipped) == (None, reason)


@pytest.mark.parametrize(
    "extra", [{"echo": False}, {"suffix": None}, {"n": 1}, {"best_of": 1}, {"logprobs": 5}]
)
def test_not_skipped(extra):
    body = {"model": "m", "prompt": TEXT, **extra}
    assert SHAPE.inspect(body).skip is None
    assert make_engine().rewrite(json.dumps(body).encode(), NAME).body is not None


def test_json_mode_from_response_format():
    assert SHAPE.inspect({"prompt": "x", "response_format": {"type": "json_object"}}).json_mode
    assert not SHAPE.inspect({"prompt": "x"}).json_mode

