"""assets/offline.html speaks every language from the catalogs: its words are
compiled into it (ephem/i18n/offline.py), never kept by hand."""

import json

from ephem.i18n import offline


def test_the_page_carries_the_catalogs_words_for_every_language():
    assert offline.problems() == []
    page = offline.PAGE.read_text(encoding="utf-8")
    words = json.loads(offline.BLOCK.search(page).group(2))
    assert words["fa"]["dir"] == "rtl" and words["ru"]["dir"] == "ltr"
    assert words["fa"]["words"]["No connection"] == "اتصال برقرار نیست"
    assert set(offline.MARKED.findall(page)) == set(offline.TEXTS)  # every text marked, every mark known


def test_a_stale_or_hand_written_page_is_caught():
    page = offline.PAGE.read_text(encoding="utf-8")
    stale = page.replace("اتصال برقرار نیست", "بدون اینترنت")
    assert offline.problems(stale) == ["offline.html: its words are stale (python -m ephem.i18n compile)"]
    extra = page.replace('data-t="Try again"', 'data-t="Try once more"')
    assert "offline.html: 'Try once more' is marked but not in ephem/i18n/offline.py TEXTS" in offline.problems(extra)

