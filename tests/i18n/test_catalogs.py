"""The catalogs: complete in every language, in step with the code, and the
compiled forms (the server's and the browser's) in step with the `.po`."""

import copy
import gettext
import json

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural

from ephem.i18n import catalogs
from ephem.i18n.catalogs import LANGUAGES, browser_json, extract, languages_json, merged, placeholders, problems, read

OTHERS = [lang for lang in LANGUAGES if lang != "en"]


def ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


@pytest.mark.parametrize("lang", OTHERS)
def test_every_text_of_the_english_catalog_is_translated(lang):
    assert problems(lang) == []


def test_the_english_catalog_holds_exactly_the_texts_in_the_code():
    # `python -m ephem.i18n extract` brings it (and every other catalog) up to date.
    assert ids(read("en")) == ids(extract())


def test_the_english_catalog_says_each_text_as_written():
    for message in read("en"):
        if message.id:
            assert message.string == message.id and not message.fuzzy


def test_the_checker_finds_what_a_careless_catalog_gets_wrong():
    broken = copy.deepcopy(read("ru"))
    broken.delete("Sign in first.")
    broken["Please enter a name."].string = ""
    broken["No such report."].flags.add("fuzzy")
    broken["There is no endpoint {path}."].string = "Адреса {pth} нет."
    plural = next(m for m in broken if isinstance(m.id, tuple) and m.id[0].startswith("Too many attempts"))
    plural.string = plural.string[:2]
    broken.add("A text nobody wrote", "Текст")
    found = "\n".join(problems("ru", broken))
    assert "missing 'Sign in first.'" in found
    assert "untranslated 'Please enter a name.'" in found
    assert "fuzzy 'No such report.'" in found
    assert "'There is no endpoint {path}.' has placeholders ['pth'], wanted ['path']" in found
    assert "has 2 plural forms, ru has 3" in found
    assert "'A text nobody wrote' is not in the English catalog" in found


def test_english_left_in_place_counts_as_untranslated():
    broken = copy.deepcopy(read("fa"))
    broken["No such report."].string = "No such report."
    broken["{field}: {reason}"].string = "{field}: {reason}"  # no words: the same in every language is fine
    assert problems("fa", broken) == ["fa: untranslated 'No such report.'"]


def test_extracting_brings_new_texts_untranslated_and_keeps_translations():
    template = Catalog(domain="ephem")
    template.add("No such report.")
    template.add("A brand new text.")
    template.add(("{n} new thing.", "{n} new things."))
    persian = merged(copy.deepcopy(read("fa")), template)
    english = merged(copy.deepcopy(read("en")), template)
    assert {m.id for m in persian if m.id} == {m.id for m in template if m.id}  # vanished texts dropped
    assert persian["No such report."].string == "چنین گزارشی وجود ندارد."
    assert not persian["A brand new text."].string and not any(persian["{n} new thing."].string)
    assert english["A brand new text."].string == "A brand new text."
    assert english["{n} new thing."].string == ("{n} new thing.", "{n} new things.")


def test_a_plural_form_may_say_the_count_in_words_but_not_drop_other_values():
    broken = copy.deepcopy(read("ar"))
    plural = next(m for m in broken if isinstance(m.id, tuple) and m.id[0].startswith("{field} can have"))
    forms = list(plural.string)
    assert "{n}" not in forms[1]  # "one": the count in words, which is fine
    forms[3] = forms[3].replace("{field}", "الحقل")
    plural.string = tuple(forms)
    assert [p for p in problems("ar", broken) if "{field} can have" in p]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_forms_header_follows_cldr(lang):
    """The gettext expression each .po carries picks, for every count, the form
    of the CLDR category Babel's data gives that count."""
    catalog = read(lang)
    count, expr = get_plural(lang)
    assert catalog.num_plurals == count and catalog.plural_expr == expr
    pick, rule, categories = gettext.c2py(expr), Locale.parse(lang).plural_form, catalogs.plural_categories(lang)
    assert len(set(categories)) == count
    for n in range(0, 1001):
        assert categories[pick(n)] == rule(n), (lang, n)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_browser_json_is_compiled_from_the_catalog(lang):
    # Regenerate with `python -m ephem.i18n compile` (`make setup` does).
    committed = (catalogs.BROWSER / f"{lang}.json").read_text(encoding="utf-8")
    assert committed == browser_json(lang)
    data = json.loads(committed)
    assert data["dir"] == ("rtl" if lang in ("fa", "ar") else "ltr")
    assert set(data["messages"]) == {m.id[0] if isinstance(m.id, tuple) else m.id for m in read("en") if m.id}


def test_the_language_menu_lists_every_language_in_its_own_name():
    index = (catalogs.BROWSER / "index.json").read_text(encoding="utf-8")
    assert index == languages_json()
    assert [(entry["lang"], entry["name"], entry["dir"]) for entry in json.loads(index)] == [
        ("en", "English", "ltr"),
        ("fa", "فارسی", "rtl"),
        ("ar", "العربية", "rtl"),
        ("ru", "Русский", "ltr"),
        ("ky", "Кыргызча", "ltr"),
        ("bn", "বাংলা", "ltr"),
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_says_what_the_po_says(lang):
    compiled = catalogs.translations(lang)
    for message in read(lang):
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            pick = gettext.c2py(get_plural(lang)[1])
            for n in range(0, 120):
                assert compiled.ngettext(*message.id, n) == message.string[pick(n)]
        else:
            assert compiled.gettext(message.id) == message.string


def test_placeholders_are_read_like_str_format():
    assert placeholders("{field} can have at most {n} characters ({n:,}).") == {"field", "n"}
