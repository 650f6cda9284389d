"""Interests a searcher may name, to be matched first with someone sharing one."""

import re
import unicodedata

from ephem.i18n import NP_

MAX_INTERESTS = 5
MAX_CHARS = 24
RULE = NP_(
    "up to {n} interest of 1 to {chars} letters, digits, spaces or hyphens",
    "up to {n} interests of 1 to {chars} letters, digits, spaces or hyphens",
    MAX_INTERESTS,
    chars=MAX_CHARS,
)


def _allowed(char: str) -> bool:
    # Letters and digits of any script (with their combining marks), spaces, hyphens.
    return char in " -" or unicodedata.category(char)[0] in "LMN"


def normalize(tags) -> tuple[str, ...]:
    """Trimmed, case-folded, inner spaces collapsed, duplicates dropped, in order;
    ValueError for anything else than RULE."""
    if not isinstance(tags, (list, tuple)) or len(tags) > MAX_INTERESTS:
        raise ValueError(RULE)
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(RULE)
        tag = re.sub(r"\s+", " ", unicodedata.normalize("NFC", tag).casefold()).strip()
        if not 1 <= len(tag) <= MAX_CHARS or not all(map(_allowed, tag)):
            raise ValueError(RULE)
        if tag not in out:
            out.append(tag)
    return tuple(out)
