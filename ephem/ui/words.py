"""The pages' texts in the page's language, looked up in the browser.

`t("Sign up")` is a Var: the English text's entry in `AuthState.words`, the
catalog of the language the page's menu chose (assets/ephem/language.js).
Switching the language changes that one dict and every text follows, with no
component knowing about languages. `python -m ephem.i18n extract` finds every
`t("...")` (a literal: a text made at run time is said by the state with
`translate`), so the catalogs hold them and the checker wants them translated.
"""

import json

import reflex as rx
from reflex.utils.imports import ImportVar

from ephem.ui.state import AuthState

# The browser's own bundled catalog of the page's language says the text
# (assets/ephem/language.js `pageWord`), the same catalogs as the state's: the
# first paint is already in the remembered or preferred language, with no
# English flash while the state (compiled in English) waits for the backend,
# or while the backend is down. `AuthState.words` is passed along so that a
# switch, which changes it, redraws the texts.
_PAGE_WORD = rx.vars.VarData(imports={"$/public/ephem_client.js": [ImportVar(tag="pageWord")]})


def t(text: str) -> rx.Var:
    """`text` in the page's language (English for a text some catalog lacks,
    which the tests do not let happen)."""
    english = json.dumps(text)
    return rx.Var(f"pageWord({english}, {AuthState.words})", _var_type=str,
                  _var_data=rx.vars.VarData.merge(AuthState.words._get_all_var_data(), _PAGE_WORD)).to(str)


def t_var(text: rx.Var) -> rx.Var:
    """A text the state holds in English (an N_ text with no placeholders, a
    room log line) in the page's language; itself when the catalogs lack it."""
    return rx.Var(f"pageWord({text}, {AuthState.words})", _var_type=str,
                  _var_data=rx.vars.VarData.merge(AuthState.words._get_all_var_data(), text._get_all_var_data(), _PAGE_WORD)).to(str)
