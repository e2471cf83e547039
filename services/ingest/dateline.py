"""Wire-style datelines: ``MOSCOU, 25 février (Reuters) -``, ``WASHINGTON (AP) —``.

Only metadata is extracted; the dateline text itself stays in the article.
"""

import re
from collections.abc import Iterable
from functools import cache

from shared.envelope import Dateline

# Languages whose month and weekday names a dateline's date may be written in: CLDR's names
# (through Babel) in every locale of these languages (de_AT "Jänner", es_PE "setiembre"), wide
# and abbreviated, format and stand-alone (the genitive "марта", "marca" after a day number).
DATELINE_LANGUAGES = frozenset(
    {"en", "fr", "de", "es", "it", "nl", "pt", "pl", "ru", "uk", "sv", "da", "nb", "nn"}
    | {"fi", "cs", "sk", "ro", "tr", "ca", "hu", "el", "bg", "hr", "sr", "sl"}
)
# Wire spellings CLDR does not have: unaccented or transliterated forms.
_EXTRA_MONTHS = ("sept", "fevrier", "fevr", "aout", "decembre", "maerz")
_MIN_NAME = 3  # shorter abbreviations ("ma", "ti") would match too much


@cache
def calendar_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(month names, weekday names) of DATELINE_LANGUAGES, lower-case, no trailing dot."""
    from babel import Locale
    from babel.localedata import locale_identifiers

    months: set[str] = set(_EXTRA_MONTHS)
    weekdays: set[str] = set()
    for identifier in locale_identifiers():
        if identifier.split("_")[0] not in DATELINE_LANGUAGES:
            continue
        locale = Locale.parse(identifier)
        for names, found in ((locale.months, months), (locale.days, weekdays)):
            for context in ("format", "stand-alone"):
                for width in ("wide", "abbreviated"):
                    for name in names[context][width].values():
                        bare = name.casefold().strip().rstrip(".")
                        if len(bare) >= _MIN_NAME and " " not in bare:
                            found.add(bare)
    return tuple(sorted(months)), tuple(sorted(weekdays))


_MONTHS, _WEEKDAYS = calendar_names()


def _alternation(words: Iterable[str]) -> str:
    # Longest first so "sept" is not cut to "sep".
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_MONTH = rf"(?i:{_alternation(_MONTHS)})\.?"
_WEEKDAY = rf"(?i:{_alternation(_WEEKDAYS)})\.?,?\s+"
_DAY = r"\d{1,2}(?:er|st|nd|rd|th|\.)?"
_YEAR = r"\d{4}"
_DATE = (
    rf"(?:{_WEEKDAY})?"
    rf"(?:{_DAY}\s+(?:de\s+)?{_MONTH}(?:\s+(?:de\s+)?{_YEAR})?"  # 25 février, 3. März
    rf"|{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?"  # Feb 25, March 3, 2025
    r"|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{4}-\d{2}-\d{2})"
)
_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}(?:{_LETTER}|['’\-](?={_LETTER})|\.)*"
_PLACE = rf"{_WORD}(?:(?:\s|\s?/\s?){_WORD}){{0,4}}"
_AGENCY = rf"{_LETTER}[\w .&'’\-]{{0,38}}"

_DATELINE = re.compile(
    rf"(?P<place>{_PLACE})"
    rf"(?:\s*,\s*(?P<date>{_DATE}))?"
    rf"(?:\s*\.?\s*\((?P<agency>{_AGENCY})\)|\s*\.?\s*/(?P<agency_slash>{_AGENCY})/)?"
    # A dash ends it, after an optional full stop ("(EFE).- ", "(EFE). - "); or, after an
    # all-caps place and a date only, a full stop alone ("МОСКВА, 5 марта. /ТАСС/. ...").
    r"(?:\s*\.?\s*(?:--|[-–—])(?=\s|$)|\s*(?P<stop>\.)(?=\s))"
)

# Lower-case words allowed inside a title-case place: "Rio de Janeiro", "Frankfurt am Main".
_PLACE_CONNECTOR_RE = re.compile(
    r"de|du|des|la|le|les|el|del|di|da|do|am|an|im|upon|on|sur|sous|en|von|der|bei|ob"
)
# All-caps kickers that are not places ("BREAKING — ...").
_NOT_PLACE_RE = re.compile(
    r"BREAKING|UPDATED?|EXCLUSIVE|EXCLUSIF|ANALYSIS|ANALYSE|URGENT|EILMELDUNG|DIRECT|LIVE"
    r"|VIDEO|VIDÉO|PHOTOS?|FACTBOX|CORRECTED|CORRECTION|OPINION|EDITORIAL|INTERVIEW"
    r"|REPORTAGE|ALERTE?"
)


def _is_title_case_place(place: str) -> bool:
    words = re.split(r"[\s/]+", place)
    return place[0].isupper() and all(
        w[0].isupper() or _PLACE_CONNECTOR_RE.fullmatch(w) for w in words
    )


def parse_dateline(paragraph: str) -> Dateline | None:
    """Dateline at the very start of ``paragraph``; place offsets are relative to it."""
    match = _DATELINE.match(paragraph)
    if match is None:
        return None
    place = match.group("place")
    date = match.group("date")
    agency = match.group("agency") or match.group("agency_slash")
    if match.group("stop") and not (place.isupper() and date):
        return None
    if place.isupper():
        if _NOT_PLACE_RE.fullmatch(place):
            return None
        # A bare "XX -" is too weak a signal unless the word is long enough to be a place.
        if date is None and agency is None and sum(c.isalpha() for c in place) < 3:
            return None
    elif (date is None and agency is None) or not _is_title_case_place(place):
        # Mixed-case text before a dash is usually a sentence, not a place.
        return None
    return Dateline(
        place=place,
        date=date.strip() if date else None,
        agency=agency.strip() if agency else None,
        place_start=match.start("place"),
        place_end=match.end("place"),
    )
