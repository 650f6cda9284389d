"""The shared file-transfer cases (tests/vectors/files.json), run against ephem/peer/files.py.

tests/js/files.test.mjs runs the same cases against assets/ephem/file_transfer.js.
"""

import json
from pathlib import Path

import pytest

from ephem.peer import files

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "files.json").read_text("utf-8"))


def pattern(size: int, head: str = "", extra: int = 0) -> bytes:
    h = bytes.fromhex(head)
    body = h + bytes(i % 251 for i in range(size + extra))
    return body[: size + extra]


@pytest.mark.parametrize("case", VECTORS["names"], ids=lambda c: repr(c["raw"])[:40])
def test_names(case):
    assert files.sanitize_name(case["raw"]) == case["clean"]


@pytest.mark.parametrize("case", VECTORS["offers"], ids=lambda c: c["name"])
def test_offers(case):
    args = [case["max_bytes"]] if "max_bytes" in case else []
    if not case["ok"]:
        with pytest.raises(files.Refused) as refused:
            files.check_offer(case["payload"], *args)
        assert refused.value.code == case["code"]
        return
    offer = files.check_offer(case["payload"], *args)
    assert offer.name == case["clean_name"]
    assert offer.mime == case.get("mime", case["payload"].get("mime", ""))


@pytest.mark.parametrize("case", VECTORS["pictures"], ids=lambda c: c["name"])
def test_pictures(case):
    assert files.picture_type(bytes.fromhex(case["hex"])) == case["type"]


@pytest.mark.parametrize("case", VECTORS["incoming"], ids=lambda c: c["name"])
def test_incoming(case):
    offer = files.Offer("abcdefgh", "f", case["size"], "", case["sha256"], case["chunk"])
    incoming = files.Incoming(offer)
    whole = pattern(case["size"], case["head"], extra=case["chunk"] * 2)
    acks = []
    for step in case["steps"]:
        start = step["index"] * case["chunk"]
        chunk = whole[start : start + step["length"]]
        if step["result"] in ("fresh", "dup"):
            assert incoming.take(step["index"], chunk) == (step["result"] == "fresh")
            acks.append(incoming.ack_due())
        else:
            with pytest.raises(files.Refused) as refused:
                incoming.take(step["index"], chunk)
            assert refused.value.code == step["result"]
            return
    if "acks" in case:
        assert acks == case["acks"]
    if case["verify"] in ("corrupt", "size_mismatch"):
        with pytest.raises(files.Refused) as refused:
            incoming.verify()
        assert refused.value.code == case["verify"]
    elif case["verify"] is not None:
        assert incoming.verify() == case["verify"]


@pytest.mark.parametrize("case", VECTORS["labels"], ids=lambda c: c["label"])
def test_labels(case):
    parsed = files.parse_label(case["label"])
    assert (parsed is None) == (case["id"] is None)
    if parsed:
        assert parsed == (case["id"], case["first"])
        assert files.channel_label(*parsed) == case["label"]


@pytest.mark.parametrize("case", VECTORS["bytes"], ids=lambda c: str(c["n"]))
def test_format_bytes(case):
    assert files.format_bytes(case["n"]) == case["text"]


def test_unique_path_never_overwrites_nor_escapes(tmp_path):
    first = files.unique_path(tmp_path, "../../report.pdf")
    assert first == tmp_path / "report.pdf"
    first.write_bytes(b"x")
    second = files.unique_path(tmp_path, "report.pdf")
    assert second == tmp_path / "report (2).pdf"
    second.write_bytes(b"y")
    assert files.unique_path(tmp_path, "report.pdf") == tmp_path / "report (3).pdf"
    assert files.unique_path(tmp_path, "..").parent == tmp_path


def test_meter_speed_and_time_left():
    meter = files.Meter(window=3)
    assert meter.eta(100) is None
    meter.sample(0, now=0)
    meter.sample(1000, now=1)
    meter.sample(3000, now=2)
    assert meter.speed == 1500
    assert meter.eta(3000) == 2
    meter.sample(4000, now=10)  # old samples drop out of the window
    assert meter.speed == 1000 / 8


@pytest.mark.parametrize("seconds, text", [(None, ""), (0.2, "1 s"), (59, "59 s"), (61, "1 min 1 s"), (3725, "1 h 2 min")])
def test_format_duration_as_the_browser_says_it(seconds, text):
    assert files.format_duration(seconds) == text
