"""Units: what a metric's value is, and how a number of that unit reads, in one place.

A metric file may say what its value counts in (``"unit": "USD"``). The known units format as
people read them; any other short word is written after the number::

    count      3,203               percent   88.99%   (changes in percentage points: +1.2 pt)
    seconds    3 min 03 s          minutes   53 h 23 min
    segments   3,203 segments      USD, EUR … (ISO 4217)   $65.82, €1,234.50
    calls      3,203 calls         (no unit) 20.78

Numbers, currencies and percentages are formatted by Babel for a locale (English unless
:func:`set_locale` or ``locale=`` says otherwise); durations use the SI symbols ``h``, ``min``
and ``s``, the same in every language. Decimals are the same everywhere: currencies take their
own (2 for USD), percentages 2, changes in points and in % 1, other numbers up to 2 (up to 3
significant digits under 1: 0.0079) and none when whole.

>>> format_value(65.8213, "USD"), format_value(88.9926, "percent"), format_value(183.15, "seconds")
('$65.82', '88.99%', '3 min 03 s')
>>> format_value(3203, "count"), format_value(20.7833), format_value(1280, "segments")
('3,203', '20.78', '1,280 segments')
>>> format_change(1.206, "percent"), format_change(-3.1, "USD"), format_change_pct(1.4012)
('+1.2 pt', '−$3.10', '+1.4%')
>>> format_value(1234.5, "EUR", locale="de_DE")
'1.234,50\\xa0€'
"""

from __future__ import annotations

import math
import re
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol, is_currency

from .._exceptions import SpecError

__all__ = [
    "DURATIONS", "KNOWN_UNITS", "change_label", "check_unit", "currency_affixes", "format_change", "format_change_pct",
    "format_value", "get_locale", "guess_unit", "is_currency_unit", "set_locale", "unit_title",
]  # fmt: skip

#: Units with a format of their own (besides currency codes); any other word is a suffix.
KNOWN_UNITS = ("count", "percent", "seconds", "minutes", "segments")
DURATIONS = {"seconds": 1, "minutes": 60}  # seconds per unit
MAX_UNIT = 40
_WORD = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,40}$")
_MINUS = "\u2212"  # a real minus sign: as wide as the plus, never read as a hyphen
_locale = "en"


def set_locale(locale: str) -> str:
    """Format every number in ``locale`` from now on (``"en"``, ``"de_DE"``, ``"fr"`` …); returns the previous one.

    >>> previous = set_locale("de_DE"); format_value(1234.5, "EUR"); set_locale(previous)
    '1.234,50\\xa0€'
    'de_DE'
    """
    global _locale
    previous, _locale = _locale, _checked_locale(locale)
    return previous


def get_locale() -> str:
    """The locale numbers are formatted in (``"en"`` unless :func:`set_locale` changed it)."""
    return _locale


def _checked_locale(locale: Any) -> str:
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        raise SpecError(
            "locale", f"{locale!r} is not a locale Babel knows: use a code such as 'en', 'en_GB' or 'de_DE'"
        ) from None
    return str(locale)


def is_currency_unit(unit: str | None) -> bool:
    """True for an ISO 4217 currency code Babel knows (``"USD"``, ``"EUR"``), in capitals."""
    return bool(unit) and len(unit) == 3 and unit.isupper() and is_currency(unit)


def check_unit(where: str, unit: Any) -> str | None:
    """The unit as a metric file keeps it (None when there is none), or a :class:`SpecError`.

    >>> check_unit("unit", "USD"), check_unit("unit", " minutes "), check_unit("unit", None)
    ('USD', 'minutes', None)
    >>> check_unit("unit", 7)
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.SpecError: unit: 7 is not a unit: use count, percent, seconds, minutes, segments, a ...
    """
    if unit is None or (isinstance(unit, str) and not unit.strip()):
        return None
    if not isinstance(unit, str) or not _WORD.match(unit.strip()):
        shown = repr(unit)[:60] if not isinstance(unit, str) else f"{unit[:40]!r}…" if len(unit) > 40 else repr(unit)
        raise SpecError(
            where,
            f"{shown} is not a unit: use {', '.join(KNOWN_UNITS)}, a currency code such as USD, or a short word"
            + (f" (at most {MAX_UNIT} characters, no control characters)" if isinstance(unit, str) else ""),
        )
    return unit.strip()


def _percent_pattern(locale: str, decimals: int) -> str:
    """The locale's own percent pattern (``#,##0%`` in English, ``#,##0\xa0%`` in German) with ``decimals``."""
    pattern = Locale.parse(locale).percent_formats[None].pattern.split(";")[0]
    return re.sub(r"0(?=[^0]*$)", "0." + "0" * decimals, pattern, count=1)  # after the last digit


def _bad(value: Any) -> bool:
    return value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)


def _number(value: float, locale: str) -> str:
    """Whole numbers without decimals, others with up to 2; under 1, up to 3 significant digits (0.0079)."""
    if float(value).is_integer():
        pattern = "#,##0"
    else:
        pattern = "@##" if abs(value) < 1 else "#,##0.##"
    return format_decimal(value, format=pattern, locale=locale)


def _duration(seconds: float, locale: str) -> str:
    """``183.15`` → ``3 min 03 s``; under a minute ``45 s`` (one decimal when under 10 s)."""
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if round(seconds) < 60:
        pattern = "#,##0.#" if seconds < 10 else "#,##0"
        return f"{sign}{format_decimal(seconds, format=pattern, locale=locale)} s"
    whole = round(seconds)
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{sign}{minutes} min" + (f" {rest:02d} s" if rest else "")
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    text = format_decimal(hours, format="#,##0", locale=locale)
    return f"{sign}{text} h" + (f" {rest:02d} min" if rest and hours < 100 else "")


def format_value(value: Any, unit: str | None = None, *, locale: str | None = None) -> str:
    """``value`` as a person reads it in ``unit`` (see the module docstring); ``"–"`` when there is none.

    >>> format_value(None, "USD"), format_value(float("nan")), format_value(45, "seconds")
    ('–', '–', '45 s')
    >>> format_value(3203, "minutes")
    '53 h 23 min'
    """
    if _bad(value):
        return "–"
    locale = locale or _locale
    if unit is None or unit == "count":
        return _number(value, locale)
    if is_currency_unit(unit):
        return format_currency(value, unit, locale=locale)
    if unit == "percent":
        return format_percent(value / 100, format=_percent_pattern(locale, 2), locale=locale)
    if unit in DURATIONS:
        return _duration(value * DURATIONS[unit], locale)
    return f"{_number(value, locale)} {unit}"


def _signed(text: str, value: float) -> str:
    text = text.lstrip("-\u2212")
    return ("+" if value > 0 else _MINUS if value < 0 else "±") + text


def format_change(change: Any, unit: str | None = None, *, locale: str | None = None) -> str:
    """An absolute change, signed, in the value's unit; percentages change in points (``pt``).

    >>> format_change(12, "seconds"), format_change(0, "count"), format_change(-2.456, "percent")
    ('+12 s', '±0', '−2.5 pt')
    """
    if _bad(change):
        return "–"
    locale = locale or _locale
    if unit == "percent":
        text = format_decimal(abs(change), format="#,##0.0", locale=locale) + " pt"
    else:
        text = format_value(abs(change), unit, locale=locale)
    return _signed(text, change)


def format_change_pct(change_pct: Any, *, locale: str | None = None) -> str:
    """A relative change in %, signed, one decimal: ``+1.4%``."""
    if _bad(change_pct):
        return "–"
    locale = locale or _locale
    text = format_percent(abs(change_pct) / 100, format=_percent_pattern(locale, 1), locale=locale)
    return _signed(text, change_pct)


def change_label(change: Any, change_pct: Any, unit: str | None = None) -> str:
    """A change as a headline says it: in points for a percentage, else in % (from 0, in the unit).

    >>> change_label(1.206, 1.37, "percent"), change_label(3.1, 5.0, "USD"), change_label(5, None, "count")
    ('+1.2 pt', '+5.0%', '+5')
    """
    if unit == "percent" or change_pct is None:
        return format_change(change, unit)
    return format_change_pct(change_pct)


def unit_title(name: str, unit: str | None) -> str:
    """A value's title with its unit: ``Call spend (USD)``, ``Average call duration (seconds)``.

    >>> unit_title("Delivery rate", "percent"), unit_title("Messages", "count"), unit_title("Spend", None)
    ('Delivery rate (%)', 'Messages', 'Spend')
    """
    if unit is None or unit == "count":
        return name
    return f"{name} ({'%' if unit == 'percent' else unit})"


def currency_affixes(unit: str, locale: str | None = None) -> tuple[str, str]:
    """What a currency puts before and after its number in ``locale``: ``("$", "")``, ``("", "\\xa0€")``.

    >>> currency_affixes("USD"), currency_affixes("EUR", "de_DE")
    (('$', ''), ('', '\\xa0€'))
    """
    locale = locale or _locale
    sample = format_currency(1, unit, locale=locale)
    number = format_decimal(1, format="0.00", locale=locale)
    at = sample.find(number)
    return (sample[:at], sample[at + len(number):]) if at >= 0 else (get_currency_symbol(unit, locale=locale), "")


def guess_unit(field: str | None, record: Any = None, *, aggregation: str = "sum") -> str | None:
    """A unit for a value read from ``field``, guessed from its name and a sample record.

    ``price`` takes the record's currency (Twilio's ``price_unit``), a duration is in seconds, a
    ``count`` metric (no field, or aggregated by count) counts, ``num_segments`` are segments.

    >>> guess_unit("price", {"price": "-0.0079", "price_unit": "EUR"}), guess_unit("duration")
    ('EUR', 'seconds')
    >>> guess_unit(None), guess_unit("num_segments"), guess_unit("status")
    ('count', 'segments', None)
    """
    if field is None or aggregation == "count":
        return "count"
    leaf = field.rsplit(".", 1)[-1].lower()
    if leaf in ("price", "balance", "amount") or leaf.endswith("_price"):
        found = record if isinstance(record, dict) else {}
        currency = found.get(f"{leaf}_unit") or found.get("price_unit") or found.get("currency")
        return currency.upper() if isinstance(currency, str) and is_currency_unit(currency.upper()) else "USD"
    if leaf == "duration" or leaf.endswith("_duration") or leaf.endswith("_seconds"):
        return "seconds"
    if leaf in ("num_segments", "segments"):
        return "segments"
    if leaf in ("count", "usage") and isinstance(record, dict) and record.get("usage_unit") == "minutes":
        return "minutes"
    return None
