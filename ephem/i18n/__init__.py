"""The languages the app speaks, and text that says itself in any of them.

Plain Python on Babel: no Reflex, no Socket.IO. Server code writes its
user-visible text in English through `N_` (or `NP_` for counts); what it
gets back is the English text (a `str`, so nothing else has to change) that
also remembers its template and values, so each web layer can say it again
in its client's language with `translate` at the point where it answers.
The catalogs are gettext `.po` files in `locales/`, the English one the
reference (see `catalogs.py` and README "Languages").
"""

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from babel import Locale, UnknownLocaleError

from ephem.i18n.catalogs import LANGUAGES, direction, native_name, translations

DEFAULT = "en"
__all__ = ["DEFAULT", "LANGUAGES", "direction", "native_name", "N_", "NP_", "Text", "negotiate", "translate", "localize", "current"]

# Whose language text produced outside an answer (a push caused by a REST
# request or by an event) is said in; the web layers set it per request/event.
current: ContextVar[str] = ContextVar("ephem_language", default=DEFAULT)

# An Accept-Language header is read this far: anything longer is noise or abuse.
MAX_HEADER = 1024
MAX_TAGS = 32
# Digits of the numbering systems our languages' CLDR data names as default.
_DIGITS = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "beng": "০১২৩৪৫৬৭৮৯", "arab": "٠١٢٣٤٥٦٧٨٩"}


class Text(str):
    """English text that can be said again in another language.

    A `str` whose value is the English (so logs, the Reflex UI and anything
    that reads `.message` keep working); `template`, `plural`, `n` and
    `params` are what `translate` needs."""

    def __new__(cls, english: str = "", template: str | None = None, params: dict | None = None,
                plural: str | None = None, n: int | None = None):
        text = super().__new__(cls, english)
        text.template = template if template is not None else english
        text.plural, text.n, text.params = plural, n, params or {}
        return text

    def __reduce__(self):  # pickled as what it says, with its template (Reflex state, Redis)
        return (Text, (str(self), self.template, self.params, self.plural, self.n))


def N_(template: str, **params: Any) -> Text:
    """Marks `template` for the catalogs (the extractor looks for `N_`); `{name}`
    placeholders are filled from `params`, in each language."""
    return Text(template.format(**params) if params else template, template, params)


def NP_(singular: str, plural: str, n: int, **params: Any) -> Text:
    """A count: the English picks singular or plural, every other language its
    own CLDR plural form; `{n}` is the count."""
    params = {"n": n, **params}
    return Text((singular if n == 1 else plural).format(**params), singular, params, plural, n)


def translate(text: str, lang: str | None) -> str:
    """`text` in `lang` (one of LANGUAGES; anything else means English). Plain
    strings are looked up as they are, so a constant not made with `N_` but
    present in the catalogs (or text that came through pickling) still works."""
    lang = lang if lang in LANGUAGES else DEFAULT
    catalog = translations(lang)
    if isinstance(text, Text):
        if text.plural is not None:
            form = catalog.ngettext(text.template, text.plural, text.n)
        else:
            form = catalog.gettext(text.template)
        return form.format(**{k: _value(v, lang) for k, v in text.params.items()}) if text.params or text.plural else form
    return catalog.gettext(text) if isinstance(text, str) else text


def localize(answer: Any, lang: str | None) -> Any:
    """The contract's error shape (`{ok: false, error: {code, message}}`) with
    its message in `lang`; anything else as it is. Codes never change."""
    if isinstance(answer, dict) and answer.get("ok") is False and isinstance(answer.get("error"), dict):
        message = answer["error"].get("message")
        if isinstance(message, str):
            return {**answer, "error": {**answer["error"], "message": translate(message, lang)}}
    return answer


def _value(value: Any, lang: str) -> Any:
    """Counts and limits in the language's own way of writing numbers; a text
    inside a text (or an exception made with one) said in `lang` too."""
    if isinstance(value, BaseException) and value.args and isinstance(value.args[0], Text):
        value = value.args[0]
    if isinstance(value, Text):
        return translate(value, lang)
    if isinstance(value, int) and not isinstance(value, bool):
        from ephem.i18n.formats import format_number

        return format_number(value, lang)
    return value


def negotiate(preferences: str | Iterable[str] | None, default: str = DEFAULT) -> str:
    """The best of LANGUAGES for an Accept-Language header (q-values honoured)
    or a list of tags in order of preference (`navigator.languages`); CLDR
    knows the aliases and likely subtags (`pes` is Persian, `fa-Arab-IR` too).
    Nothing we speak: `default`."""
    for tag in _ranked(preferences):
        lang = _language_of(tag)
        if lang is not None:
            return lang
    return default


def _ranked(preferences: str | Iterable[str] | None) -> list[str]:
    if preferences is None:
        return []
    if isinstance(preferences, str):
        weighted = []
        for position, part in enumerate(preferences[:MAX_HEADER].split(",")[:MAX_TAGS]):
            tag, _, rest = part.strip().partition(";")
            quality = 1.0
            for param in rest.split(";"):
                key, _, number = param.strip().partition("=")
                if key.strip().lower() == "q":
                    try:
                        quality = float(number)
                    except ValueError:
                        quality = 0.0
            if tag and tag != "*" and quality > 0:
                weighted.append((-quality, position, tag.strip()))
        return [tag for _, _, tag in sorted(weighted)]
    return [tag for tag in list(preferences)[:MAX_TAGS] if isinstance(tag, str)]


def _language_of(tag: str) -> str | None:
    tag = tag.strip().replace("_", "-")[:64]
    try:
        language = Locale.parse(tag, sep="-").language
    except (ValueError, TypeError, UnknownLocaleError):
        # Babel knows no such locale; its language part alone may still be ours.
        language = tag.split("-")[0].lower()
    return language if language in LANGUAGES else None


def digits(text: str, lang: str) -> str:
    """ASCII digits in `text` written in `lang`'s default numbering system (CLDR):
    Persian and Bengali have their own; the rest keep 0-9."""
    system = _numbering(lang)
    table = _DIGITS.get(system)
    return text.translate(str.maketrans("0123456789", table)) if table else text


def _numbering(lang: str) -> str:
    try:
        return Locale.parse(lang).default_numbering_system
    except (ValueError, UnknownLocaleError):
        return "latn"
