"""Wire-style datelines: ``MOSCOU, 25 février (Reuters) -``, ``WASHINGTON (AP) —``.

Only metadata is extracted; the dateline text itself stays in the article.
"""

import re

from shared.envelope import Dateline

# Space-separated word lists per language, split below.
_MONTH_NAMES = {
    "en": "january february march april may june july august september october november "
    "december jan feb mar apr jun jul aug sep sept oct nov dec",
    "fr": "janvier février fevrier mars avril mai juin juillet août aout septembre octobre "
    "novembre décembre decembre janv févr fevr avr juil déc",
    "de": "januar jänner februar märz maerz april mai juni juli august september oktober "
    "november dezember mär okt dez",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre "
    "noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre "
    "novembre dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
}
_WEEKDAY_NAMES = {
    "en": "monday tuesday wednesday thursday friday saturday sunday",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "de": "montag dienstag mittwoch donnerstag freitag samstag sonntag",
}
_MONTHS = [word for names in _MONTH_NAMES.values() for word in names.split()]
_WEEKDAYS = [word for names in _WEEKDAY_NAMES.values() for word in names.split()]


def _alternation(words: list[str]) -> str:
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
    rf"(?:\s*\((?P<agency>{_AGENCY})\)|\s*/(?P<agency_slash>{_AGENCY})/)?"
    r"\s*(?:--|[-–—])(?=\s|$)"
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
