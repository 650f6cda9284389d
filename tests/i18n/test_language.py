"""Choosing a language, plural forms by CLDR rules, and dates and relative
times in each language (ephem.i18n, plain Python)."""

import pickle
from datetime import datetime, timedelta, timezone

import pytest

from ephem.i18n import LANGUAGES, NP_, N_, Text, localize, negotiate, translate
from ephem.i18n.formats import deleted_if_unused, format_datetime, format_number, format_relative
from ephem.schemas import error

WAIT = ("Too many attempts. Try again in {n} second.", "Too many attempts. Try again in {n} seconds.")
FULL = ("This enclave is full ({n} member).", "This enclave is full ({n} members).")


def wait(n: int, lang: str) -> str:
    return translate(NP_(*WAIT, n), lang)


@pytest.mark.parametrize(
    "header, expected",
    [
        ("fa-IR,fa;q=0.9,en-US;q=0.8,en;q=0.7", "fa"),
        ("de-DE, ar;q=0.7, fa;q=0.5", "ar"),  # German is not ours: the next best we speak
        ("fr;q=1, ru;q=0.1", "ru"),
        ("en;q=0, ky", "ky"),  # q=0 means "not this one"
        ("bn-IN", "bn"),
        ("ky-Cyrl-KG", "ky"),  # script and region subtags
        ("pes", "fa"),  # CLDR's alias for Western Persian
        ("ar-001", "ar"),
        ("zh-CN, ja", "en"),  # nothing we speak: English
        ("", "en"),
        ("*", "en"),
        (";;;,,q=,;q=x", "en"),
        ("xx-" + "a" * 5000, "en"),
    ],
)
def test_language_from_accept_language(header, expected):
    assert negotiate(header) == expected


def test_language_from_a_list_of_preferences():
    assert negotiate(["de", "ru-RU", "fa"]) == "ru"
    assert negotiate(["de", 7, None]) == "en"
    assert negotiate(None) == "en"
    assert negotiate(["it"], default=None) is None


@pytest.mark.parametrize(
    "n, form",
    [(1, "секунду"), (21, "секунду"), (101, "секунду"), (2, "секунды"), (4, "секунды"), (22, "секунды"),
     (5, "секунд"), (11, "секунд"), (12, "секунд"), (14, "секунд"), (25, "секунд"), (111, "секунд"), (0, "секунд")],
)
def test_russian_counts(n, form):
    assert wait(n, "ru") == f"Слишком много попыток. Попробуйте через {n} {form}."


@pytest.mark.parametrize(
    "n, expected",
    [
        (0, "هذا المجلس ممتلئ (0 عضو)."),
        (1, "هذا المجلس ممتلئ (عضو واحد)."),
        (2, "هذا المجلس ممتلئ (عضوان)."),
        (3, "هذا المجلس ممتلئ (3 أعضاء)."),
        (10, "هذا المجلس ممتلئ (10 أعضاء)."),
        (11, "هذا المجلس ممتلئ (11 عضوًا)."),
        (99, "هذا المجلس ممتلئ (99 عضوًا)."),
        (100, "هذا المجلس ممتلئ (100 عضو)."),
        (103, "هذا المجلس ممتلئ (103 أعضاء)."),
    ],
)
def test_arabic_counts(n, expected):
    assert translate(NP_(*FULL, n), "ar") == expected


def test_persian_bengali_kyrgyz_and_english_counts():
    # Persian and Bengali: 0 and 1 take CLDR's "one"; their digits are their own.
    assert wait(0, "fa") == wait(1, "fa").replace("۱", "۰")
    assert wait(2, "fa") == "تلاش‌ها بیش از حد است. ۲ ثانیهٔ دیگر دوباره تلاش کنید."
    assert wait(21, "bn") == "অনেক বেশি চেষ্টা করা হয়েছে। ২১ সেকেন্ড পরে আবার চেষ্টা করুন।"
    assert wait(1, "ky") == "Аракет өтө көп болду. 1 секунддан кийин кайра аракет кылыңыз."
    assert wait(5, "ky") == "Аракет өтө көп болду. 5 секунддан кийин кайра аракет кылыңыз."
    assert wait(1, "en") == "Too many attempts. Try again in 1 second."
    assert wait(0, "en") == "Too many attempts. Try again in 0 seconds."


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_plural_text_names_its_count_in_every_language(lang):
    """Each form a count of 0..120 lands on says the count, unless it is a
    form that says it in words (Arabic one and two)."""
    from ephem.i18n.catalogs import read

    for message in read("en"):
        if not isinstance(message.id, tuple):
            continue
        for n in range(0, 121):
            text = translate(NP_(*message.id, n, field="reason", chars=24), lang)
            if not (lang == "ar" and n in (1, 2)):
                assert format_number(n, lang) in text, (lang, n, text)
            assert "{" not in text


def test_text_is_english_until_said_in_another_language():
    text = N_("There is no endpoint {path}.", path="/api/x")
    assert text == "There is no endpoint /api/x." and isinstance(text, str)
    assert translate(text, "fa") == "نشانی /api/x وجود ندارد."
    assert translate(text, "xx") == text  # not ours: English
    assert translate("No such report.", "ru") == "Такой жалобы нет."  # a plain constant is looked up
    assert translate("Not in any catalog.", "ru") == "Not in any catalog."
    again = pickle.loads(pickle.dumps(text))
    assert isinstance(again, Text) and translate(again, "ar") == "لا توجد نقطة نهاية /api/x."


def test_the_error_shape_is_localized_and_its_code_kept():
    answer = error("not_member", N_("You are not a member of this enclave."), challenge={"id": "c"})
    said = localize(answer, "ky")
    assert said == {"ok": False, "error": {"code": "not_member", "message": "Сиз бул анклавдын мүчөсү эмессиз.", "challenge": {"id": "c"}}}
    assert answer["error"]["message"] == "You are not a member of this enclave."  # the original is left alone
    assert localize({"ok": True, "message": "No such report."}, "ru") == {"ok": True, "message": "No such report."}


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "lang, month_ahead, days_ago, weeks_ahead",
    [
        ("en", "in 1 month", "3 days ago", "in 3 weeks"),
        ("fa", "۱ ماه بعد", "۳ روز پیش", "۳ هفته بعد"),
        ("ar", "خلال شهر واحد", "قبل 3 أيام", "خلال 3 أسابيع"),
        ("ru", "через 1 месяц", "3 дня назад", "через 3 недели"),
        ("ky", "1 айдан кийин", "3 күн мурун", "3 аптадан кийин"),
        ("bn", "১ মাসে", "৩ দিন আগে", "৩ সপ্তাহে"),
    ],
)
def test_relative_times(lang, month_ahead, days_ago, weeks_ahead):
    assert format_relative(NOW + timedelta(days=30), lang, now=NOW) == month_ahead
    assert format_relative(timedelta(days=-3), lang) == days_ago
    assert format_relative(timedelta(days=21), lang) == weeks_ahead


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("en", "Deleted in 1 month if unused."),
        ("fa", "اگر استفاده نشود، ۱ ماه بعد حذف می‌شود."),
        ("ar", "يُحذف خلال شهر واحد إن لم يُستخدم."),
        ("ru", "Будет удалён через 1 месяц, если не использовать."),
        ("ky", "Колдонулбаса, 1 айдан кийин өчүрүлөт."),
        ("bn", "ব্যবহার না হলে ১ মাসে মুছে ফেলা হবে।"),
    ],
)
def test_deleted_if_unused(lang, expected):
    assert deleted_if_unused(NOW + timedelta(days=30), lang, now=NOW) == expected


def test_dates_times_and_numbers():
    moment = datetime(2026, 12, 3, 16, 5, tzinfo=timezone.utc)
    assert format_datetime(moment, "en") == "Dec 3, 2026, 4:05:00\u202fPM"  # CLDR puts a narrow no-break space
    assert format_datetime(moment, "ru") == "3 дек. 2026\u202fг., 16:05:00"
    assert "۲۰۲۶" in format_datetime(moment, "fa") and "دسامبر" in format_datetime(moment, "fa")
    assert "২০২৬" in format_datetime(moment, "bn")
    assert format_number(1234567, "fa") == "۱٬۲۳۴٬۵۶۷"
    assert format_number(1234567, "bn") == "১২,৩৪,৫৬৭"
    assert format_number(1234567, "ar") == "1,234,567"
