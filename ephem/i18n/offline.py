"""The words of `assets/offline.html`, the page the service worker shows with no
network: compiled from the catalogs into the page itself (`python -m
ephem.i18n compile`), so it needs no other file, speaks the language the app
remembered or the browser prefers, and is never a second copy to keep by hand.

The page marks each text with `data-t="<English>"`; its inline script picks
the language (`ephem_lang` in localStorage, then `navigator.languages`) and
puts each text's translation in place, with `<html lang dir>`.
"""

import json
import re
from pathlib import Path

from ephem.i18n import N_

PAGE = Path(__file__).resolve().parents[2] / "assets" / "offline.html"
TEXTS = (
    N_("ephem · no connection"),
    N_("No connection"),
    N_("ephem needs the internet to find the others and to reach them: your messages go straight to them, never through a copy kept here."),
    N_("Check your connection, then try again."),
    N_("Try again"),
)
BLOCK = re.compile(r'(<script type="application/json" id="ephem-words">)(.*?)(</script>)', re.DOTALL)
MARKED = re.compile(r'data-t="([^"]*)"')


def words() -> dict:
    """{lang: {dir, words: {English: translation}}} for every language."""
    from ephem.i18n import catalogs

    said = {}
    for lang in catalogs.LANGUAGES:
        messages = catalogs.browser_catalog(lang)["messages"]
        said[lang] = {"dir": catalogs.direction(lang), "words": {text: messages.get(text) or str(text) for text in TEXTS}}
    return said


def block() -> str:
    # `</` never appears inside the JSON, so no text can close the script early.
    return json.dumps(words(), ensure_ascii=False, sort_keys=True).replace("</", "<\\/")


def compiled(page: str) -> str:
    """`page` with its words block as the catalogs say it now."""
    if not BLOCK.search(page):
        raise ValueError(f"{PAGE} has no words block")
    return BLOCK.sub(lambda m: m.group(1) + block() + m.group(3), page, count=1)


def problems(page: str | None = None) -> list[str]:
    """What is out of step between offline.html and the catalogs."""
    page = PAGE.read_text(encoding="utf-8") if page is None else page
    found = [f"offline.html: {text!r} is marked but not in ephem/i18n/offline.py TEXTS"
             for text in MARKED.findall(page) if text not in TEXTS]
    if compiled(page) != page:
        found.append("offline.html: its words are stale (python -m ephem.i18n compile)")
    return found


def write() -> Path:
    PAGE.write_text(compiled(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    return PAGE
