"""The pages' texts in the page's language, looked up in the browser.

`t("Sign up")` is a Var: the English text said in the language the page's menu
chose (assets/ephem/language.js), from the catalogs bundled in the page.
Switching the language redraws every text, with no component knowing about
languages. `python -m ephem.i18n extract` finds every
`t("...")` (a literal: a text made at run time is said by the state with
`translate`), so the catalogs hold them and the checker wants them translated.
"""

import json

import reflex as rx
from reflex.utils.imports import ImportVar

# The browser's own bundled catalog of the page's language says the text
# (assets/ephem/language.js `pageWord`), the same catalogs as the state's, in
# the language the hook `useEphemLang` gives the component: the page is drawn
# in the remembered or preferred language at once (no English while the state,
# compiled in English, waits for the backend, or while the backend is down),
# a prerendered page hydrates in the English it was written in and is redrawn
# right after, and a switch redraws every text without a round trip.
_PAGE_WORD = rx.vars.VarData(
    imports={"$/public/ephem_client.js": [ImportVar(tag="pageWord"), ImportVar(tag="useEphemLang")]},
    hooks={"const ephemLang = useEphemLang();": None},
)


def t(text: str) -> rx.Var:
    """`text` in the page's language (English for a text some catalog lacks,
    which the tests do not let happen)."""
    english = json.dumps(text)
    return rx.Var(f"pageWord({english}, ephemLang)", _var_type=str, _var_data=_PAGE_WORD).to(str)


def t_var(text: rx.Var) -> rx.Var:
    """A text the state holds in English (an N_ text with no placeholders, a
    room log line) in the page's language; itself when the catalogs lack it."""
    return rx.Var(f"pageWord({text}, ephemLang)", _var_type=str,
                  _var_data=rx.vars.VarData.merge(text._get_all_var_data(), _PAGE_WORD)).to(str)
