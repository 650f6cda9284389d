"""tests/vectors/i18n.json: what `ephem.i18n.translate` says for a set of
texts and counts in every language; tests/js/i18n.test.mjs holds the browser
twin (assets/ephem/i18n.js, reading assets/ephem/locales/*.json) to the same.
After changing a catalog: `.venv/bin/python -m tests.i18n.test_vectors` rewrites it."""

import json
from pathlib import Path

from ephem.i18n import LANGUAGES, NP_, N_, translate

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "i18n.json"
TEXTS = [
    ("No such report.", {}),
    ("There is no endpoint {path}.", {"path": "/api/x"}),
    ("{field} must be text.", {"field": "reason"}),
    ("A text in no catalog, {count} times.", {"count": 12345}),
]
COUNTS = [
    ("Too many attempts. Try again in {n} second.", "Too many attempts. Try again in {n} seconds.", {}),
    ("This enclave is full ({n} member).", "This enclave is full ({n} members).", {}),
    ("{field} can have at most {n} character.", "{field} can have at most {n} characters.", {"field": "reason"}),
    ("One {n} thing nobody translated.", "Many {n} things nobody translated.", {}),
]
NS = [0, 1, 2, 3, 4, 5, 10, 11, 12, 14, 21, 22, 25, 99, 100, 101, 102, 103, 111, 16384]


def cases() -> dict:
    out = {"texts": [], "counts": []}
    for lang in LANGUAGES:
        for text, params in TEXTS:
            out["texts"].append({"lang": lang, "text": text, "params": params, "said": translate(N_(text, **params), lang)})
        for singular, plural, params in COUNTS:
            for n in NS:
                said = translate(NP_(singular, plural, n, **params), lang)
                out["counts"].append({"lang": lang, "singular": singular, "plural": plural, "n": n, "params": params, "said": said})
    return out


def test_the_vectors_are_what_the_server_says():
    assert json.loads(VECTORS.read_text(encoding="utf-8")) == cases()


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(cases(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(VECTORS)
