"""Dates, times, numbers and relative times in each language, by CLDR (Babel).

Gregorian calendar everywhere; numbers and digits inside dates in the
language's default numbering system (Persian and Bengali digits)."""

from datetime import date, datetime, time, timedelta, timezone

from babel import dates, numbers

from ephem.i18n import DEFAULT, LANGUAGES, N_, digits, translate


def _lang(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def format_number(value: int | float, lang: str | None) -> str:
    lang = _lang(lang)
    return digits(numbers.format_decimal(value, locale=lang, numbering_system="default"), lang)


def format_datetime(value: datetime, lang: str | None, form: str = "medium", tz=timezone.utc) -> str:
    lang = _lang(lang)
    return digits(dates.format_datetime(value, form, tzinfo=tz, locale=lang), lang)


def format_date(value: date | datetime, lang: str | None, form: str = "medium") -> str:
    lang = _lang(lang)
    return digits(dates.format_date(value, form, locale=lang), lang)


def format_time(value: time | datetime, lang: str | None, form: str = "short", tz=timezone.utc) -> str:
    lang = _lang(lang)
    return digits(dates.format_time(value, form, tzinfo=tz, locale=lang), lang)


def format_relative(when: datetime | timedelta, lang: str | None, now: datetime | None = None) -> str:
    """"in 1 month", "3 days ago": `when` a moment (compared with `now`) or a
    signed duration, rounded to its largest unit as CLDR's data says it
    (Babel's threshold: 30 days is "in 1 month", 21 days "in 3 weeks")."""
    lang = _lang(lang)
    if isinstance(when, datetime):
        when = when - (now or datetime.now(timezone.utc))
    return digits(dates.format_timedelta(when, add_direction=True, locale=lang), lang)


def deleted_if_unused(expires_at: datetime, lang: str | None, now: datetime | None = None) -> str:
    """The account or enclave line: "Deleted in 1 month if unused"."""
    return translate(N_("Deleted {when} if unused.", when=format_relative(expires_at, lang, now)), lang)
