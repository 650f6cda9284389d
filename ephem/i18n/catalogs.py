"""The gettext catalogs: where they live, how they are extracted, compiled and checked.

`locales/<lang>/LC_MESSAGES/ephem.po` is the source of every language, the
English one the reference. `compile` writes the `.mo` next to each (built by
`make setup`, git-ignored) and `assets/ephem/locales/<lang>.json` for the
browser modules (committed: Vite bundles it from `assets/` for `reflex run`
and the static export alike, and a test holds it to the `.po`). A process
that finds a `.mo` missing or older than its `.po` compiles it in memory.
"""

import copy
import functools
import gettext
import io
import json
import re
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

# Adding a language: its code here and its catalog in locales/ (README "Languages").
LANGUAGES = ("en", "fa", "ar", "ru", "ky", "bn")

DOMAIN = "ephem"
HERE = Path(__file__).resolve().parent
LOCALES = HERE / "locales"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
SOURCES = HERE.parent  # the `ephem` package: every `N_`/`NP_` in it
BROWSER = HERE.parent.parent / "assets" / "ephem" / "locales"
KEYWORDS = {"N_": None, "NP_": (1, 2), "t": None}  # t: ephem.ui.words.t, a page's text
BROWSER_SOURCES = HERE.parent.parent / "assets" / "ephem"
BROWSER_KEYWORDS = {"t": None, "tn": (1, 2)}  # i18n.js's translator (language.js's useWords)
HEADER = {"project": "ephem", "version": "1", "copyright_holder": "the ephem authors", "msgid_bugs_address": ""}
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


@functools.cache
def direction(lang: str) -> str:
    """"rtl" or "ltr", from CLDR (looked up when first asked: locale data is slow to load)."""
    return "rtl" if Locale.parse(lang).character_order == "right-to-left" else "ltr"


def native_name(lang: str) -> str:
    """The language's name in itself (CLDR), capitalized as a menu item: "Русский", "فارسی"."""
    name = Locale.parse(lang).get_display_name(lang)
    return name[:1].upper() + name[1:]


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@functools.cache
def translations(lang: str) -> gettext.GNUTranslations:
    """The compiled catalog: the `.mo` built at setup, or the `.po` compiled now
    when that is missing or stale (a fresh checkout run without `make`)."""
    po, mo = po_path(lang), mo_path(lang)
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        data = mo.read_bytes()
    else:
        data = _mo_bytes(read(lang))
    return Translations(io.BytesIO(data), domain=DOMAIN)


# --- extracting ----------------------------------------------------------------


def extract() -> Catalog:
    """Every `N_`/`NP_` text in the `ephem` package, as a template."""
    template = Catalog(**HEADER, domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(SOURCES), method_map=[("**.py", "python")], keywords=KEYWORDS,
        comment_tags=("i18n:",), strip_comment_tags=True,
    ):
        template.add(message, None, [(f"ephem/{filename}", lineno)], auto_comments=comments, context=context)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(BROWSER_SOURCES), method_map=[("*.js", "javascript")], keywords=BROWSER_KEYWORDS,
        comment_tags=("i18n:",), strip_comment_tags=True,
    ):
        template.add(message, None, [(f"assets/ephem/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def update(template: Catalog) -> None:
    """Writes the template and brings every catalog in line with it: new texts
    arrive untranslated (English: the text itself), vanished ones are dropped."""
    template.header_comment = "# The texts of ephem, as the code writes them (python -m ephem.i18n extract)."
    _write(TEMPLATE, template)
    for lang in LANGUAGES:
        catalog = read(lang) if po_path(lang).exists() else Catalog(locale=lang, domain=DOMAIN)
        _write(po_path(lang), merged(catalog, template))


def merged(catalog: Catalog, template: Catalog) -> Catalog:
    """`catalog` with the template's texts: its translations kept, new texts
    untranslated (the English catalog: the text itself), vanished ones dropped."""
    # A copy each time: Babel puts the template's own message objects into the catalog.
    catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    for field, value in HEADER.items():
        setattr(catalog, field, value)
    catalog.last_translator = catalog.language_team = "the ephem authors"
    name = Locale.parse(catalog.locale_identifier).english_name if catalog.locale_identifier else "Template"
    catalog.header_comment = f"# {name} texts of ephem's server and browser modules.\n# README \"Languages\" says how to change or add a catalog."
    if catalog.locale_identifier == "en":
        for message in catalog:
            if message.id and not _filled(message.string):
                message.string = message.id
    catalog.fuzzy = False  # Babel writes the Plural-Forms header from CLDR's data for the locale
    return catalog


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, sort_output=True, include_lineno=False)


# --- compiling -------------------------------------------------------------------


def plural_categories(lang: str) -> list[str]:
    """The CLDR category (one, few, many...) of each gettext plural form of `lang`."""
    count, expr = get_plural(lang)
    pick, rule = gettext.c2py(expr), Locale.parse(lang).plural_form
    categories = ["other"] * count
    for n in range(1000, -1, -1):  # the smallest n of each form has the last word
        categories[pick(n)] = rule(n)
    return categories


def browser_catalog(lang: str) -> dict:
    """What the browser modules read (`assets/ephem/i18n.js`): each text by its
    English id, a count's forms in gettext order, the CLDR category of each
    form (for `Intl.PluralRules`) and the numbering system."""
    messages = {}
    for message in read(lang):
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            messages[message.id[0]] = list(message.string)
        else:
            messages[message.id] = message.string
    return {
        "lang": lang,
        "name": native_name(lang),
        "dir": direction(lang),
        "numbering": Locale.parse(lang).default_numbering_system,  # for Intl.NumberFormat, as the server writes numbers
        "plural_categories": plural_categories(lang),
        "messages": messages,
    }


def browser_json(lang: str) -> str:
    return json.dumps(browser_catalog(lang), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def languages_json() -> str:
    """`locales/index.json`: what a language menu lists, without loading every catalog."""
    index = [{"lang": lang, "name": native_name(lang), "dir": direction(lang)} for lang in LANGUAGES]
    return json.dumps(index, ensure_ascii=False, indent=1) + "\n"


def compile_all() -> list[Path]:
    BROWSER.mkdir(parents=True, exist_ok=True)
    (BROWSER / "index.json").write_text(languages_json(), encoding="utf-8")
    written = [BROWSER / "index.json"]
    for lang in LANGUAGES:
        mo_path(lang).write_bytes(_mo_bytes(read(lang)))
        (BROWSER / f"{lang}.json").write_text(browser_json(lang), encoding="utf-8")
        written += [mo_path(lang), BROWSER / f"{lang}.json"]
    from ephem.i18n import offline  # the no-network page carries its own words

    written.append(offline.write())
    translations.cache_clear()
    return written


# --- checking ----------------------------------------------------------------------


def _filled(string) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


def _copied(string, msgid) -> bool:
    """The English left in place: a form equal to the English, where the
    English has words (punctuation around placeholders may stay as it is)."""
    english = msgid if isinstance(msgid, tuple) else (msgid,)
    forms = string if isinstance(string, tuple) else (string,)
    return any(form in english and re.search(r"[A-Za-z]", PLACEHOLDER.sub("", form)) for form in forms)


def placeholders(text: str) -> set[str]:
    return {name for name in PLACEHOLDER.findall(text)}


def problems(lang: str, catalog: Catalog | None = None) -> list[str]:
    """Why `lang`'s catalog (or `catalog`, read as `lang`'s) is not complete:
    a text of the English catalog missing, untranslated, fuzzy, with the
    wrong number of plural forms or other placeholders than the English; or
    a text the English lacks."""
    english = {m.id: m for m in read("en") if m.id}
    catalog = catalog if catalog is not None else read(lang)
    found, out = {m.id: m for m in catalog if m.id}, []
    count, _ = get_plural(lang)
    for msgid, source in english.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = found.get(msgid)
        if message is None:
            out.append(f"{lang}: missing {key!r}")
            continue
        if message.fuzzy:
            out.append(f"{lang}: fuzzy {key!r}")
        if not _filled(message.string) or _copied(message.string, msgid):
            out.append(f"{lang}: untranslated {key!r}")
            continue
        if isinstance(msgid, tuple):
            if len(message.string) != count:
                out.append(f"{lang}: {key!r} has {len(message.string)} plural forms, {lang} has {count}")
            wanted = placeholders(msgid[0]) | placeholders(msgid[1])
            for form in message.string:
                # A form for exactly one thing ("one", "two") may say the count in words.
                if not placeholders(form) <= wanted or not (wanted - {"n"}) <= placeholders(form):
                    out.append(f"{lang}: {key!r} form {form!r} has placeholders {sorted(placeholders(form))}, wanted {sorted(wanted)}")
        elif placeholders(message.string) != placeholders(msgid):
            out.append(f"{lang}: {key!r} has placeholders {sorted(placeholders(message.string))}, wanted {sorted(placeholders(msgid))}")
    out += [f"{lang}: {m!r} is not in the English catalog" for m in found if m not in english]
    if catalog.num_plurals != count:
        out.append(f"{lang}: Plural-Forms says {catalog.num_plurals} forms, CLDR {count}")
    return out
