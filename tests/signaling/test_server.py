"""What the Socket.IO server accepts as JSON: only what it could relay to any client."""

import pytest

from ephem.signaling.server import MAX_DEPTH, loads
from tests.signaling.test_hub import nested


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "[1e400]", "9" * 5000])
def test_numbers_that_are_not_json_are_refused(text):
    with pytest.raises(ValueError):
        loads(text)


def test_nesting_is_bounded():
    deepest = nested(MAX_DEPTH - 1)
    assert loads(repr(deepest).replace("'", '"')) == deepest
    with pytest.raises(ValueError):
        loads(repr(nested(MAX_DEPTH)).replace("'", '"'))
    with pytest.raises((ValueError, RecursionError)):
        loads("[" * 100_000 + "]" * 100_000)


def test_ordinary_json_passes():
    assert loads('["signal", {"data": {"sdpMLineIndex": 0, "level": 0.5, "text": "سلام"}}]') == [
        "signal",
        {"data": {"sdpMLineIndex": 0, "level": 0.5, "text": "سلام"}},
    ]


@pytest.mark.parametrize(
    "text",
    ['["a", 1.5, {"b": null}]', '["سلام"]'.encode(), '["سلام"]'.encode("utf-16"), b' {"a": [true, false]} ', "\ufeff[1]", "[1] x", b"\xff[1]"],
)
def test_it_reads_what_json_loads_reads_and_refuses_what_it_refuses(text):
    import json

    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            loads(text)
    else:
        assert loads(text) == expected


def test_nesting_is_bounded_in_bytes_too_and_brackets_in_strings_do_not_refuse():
    with pytest.raises(ValueError):
        loads(repr(nested(MAX_DEPTH)).replace("'", '"').encode())
    brackets = "[{" * MAX_DEPTH
    assert loads(f'["echo", "{brackets}"]') == ["echo", brackets]  # counted, walked, and shallow


@pytest.mark.parametrize(
    "data",
    [None, "text", 1, [], {}, b"\x00", bytearray(b"x"), ["a", {"b": [1, {"c": b"\x01"}]}], ["a", {"b": [1, {"c": "d"}]}], {"k": [[[]]]}],
)
def test_binary_is_found_where_python_socketio_finds_it(data):
    from socketio import packet

    from ephem.signaling.server import Packet

    assert Packet.data_is_binary(data) == packet.Packet.data_is_binary(data)
