"""Document-level rules applied to the model's mentions: pure functions, no spaCy.

The model tags each sentence on its own; these rules use what the document as a
whole says (a surname next to the full name, the same name tagged twice, the
wire dateline, what ingest removed as boilerplate) and closed word lists per
language from data: weekdays and months from CLDR (Babel), function words from
spaCy's stop lists (short entries only). Each rule is a separate function, listed
in RULES, so it can be tested and switched off on its own (make eval).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

Label = str  # "PER" | "ORG" | "LOC" | "MISC"


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    label: Label
    model_label: str
    # Set by a rule that knows better than a vote (dateline, surname of a PER):
    # the majority vote does not change a locked label.
    locked: bool = False


@dataclass
class Context:
    """What the other stages know about the document."""

    language: str = "und"
    # Offsets of the wire dateline place in the text (from ingest).
    dateline: tuple[int, int] | None = None
    # Text ingest removed as boilerplate (site banners, comment counters ...).
    boilerplate: Sequence[str] = field(default_factory=tuple)


# --- closed word lists -------------------------------------------------------------------------

# Languages whose calendar and function words are computed from data (CLDR via Babel, spaCy's
# stop lists). A language outside the list falls back to the union of these.
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "en", "fr", "de", "es", "it", "nl", "pt", "pl", "ru", "sv", "da", "uk", "cs", "ro", "ar", "zh",
)  # fmt: skip

_CALENDAR_CONTEXTS = ("format", "stand-alone")  # Polish/Russian format months are genitive
_CALENDAR_WIDTHS = ("wide", "abbreviated")
# Abbreviations shorter than this in a cased script ("Mo.", "di", "пн") are too ambiguous
# with names and initials to drop on sight; wide names are always kept.
_MIN_ABBREVIATION = 3


def _strip_marks(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    )


def _is_uncased(word: str) -> bool:
    return word.upper() == word.lower()


@cache
def _calendar_forms(language: str, regional: bool = True) -> dict[str, frozenset[str]]:
    """{"format": ..., "stand-alone": ...}: the forms of one supported language (see
    calendar_words); regional=False: the main locale only."""
    from babel import Locale
    from babel.localedata import locale_identifiers

    found: dict[str, set[str]] = {context: set() for context in _CALENDAR_CONTEXTS}
    for identifier in locale_identifiers() if regional else [language]:
        if identifier != language and not identifier.startswith(f"{language}_"):
            continue
        locale = Locale.parse(identifier)
        for names in (locale.months, locale.days):
            for context in _CALENDAR_CONTEXTS:
                for width in _CALENDAR_WIDTHS:
                    for name in names[context][width].values():
                        word = name.casefold().strip()
                        bare = word.rstrip(".")
                        too_short = len(bare) < _MIN_ABBREVIATION and not _is_uncased(bare)
                        if width != "wide" and too_short:
                            continue
                        for form in (word, bare, f"{bare}.", _strip_marks(bare)):
                            if form and " " not in form:
                                found[context].add(form)
    return {context: frozenset(forms) for context, forms in found.items()}


def _languages(language: str | None) -> tuple[str, ...]:
    return (language,) if language in SUPPORTED_LANGUAGES else SUPPORTED_LANGUAGES


@cache
def calendar_words(language: str | None = None) -> frozenset[str]:
    """Lower-cased month and weekday names of `language` from CLDR (Babel): wide and abbreviated,
    format and stand-alone, of the language and its regional locales (de_AT "jänner", es_PE
    "setiembre"), with and without a trailing dot and without accents ("fevrier"). None or a
    language outside SUPPORTED_LANGUAGES: the union over SUPPORTED_LANGUAGES."""
    return frozenset().union(
        *(forms for lang in _languages(language) for forms in _calendar_forms(lang).values())
    )


@cache
def inflected_calendar_words(language: str | None = None) -> frozenset[str]:
    """Forms that exist only in the format context: the genitive months of Slavic languages
    ("марта", "мая", "stycznia", "maja"), used after a day number and written in lower case.
    Capitalised and alone they are names (Марта, Мая, Maja), not dates."""
    result: set[str] = set()
    for lang in _languages(language):
        forms = _calendar_forms(lang, regional=False)  # de_AT "Jänner" is no case form
        result |= forms["format"] - forms["stand-alone"]
    return frozenset(result - _standalone_union(language))


def _standalone_union(language: str | None) -> frozenset[str]:
    return frozenset().union(
        *(_calendar_forms(lang)["stand-alone"] for lang in _languages(language))
    )


# Curated function words, the floor for every language's list (and what surname_parts uses):
# articles, pronouns, prepositions, conjunctions. "La guerre" (only "La" capitalised) is not a
# name; "La Haye" is.
_FUNCTION = {
    "fr": "le la les l un une des du de d au aux à a ce cet cette ces son sa ses leur leurs "
    "notre nos votre vos mon ma mes il elle ils elles on nous vous je tu et ou mais en dans "
    "sur sous pour par avec sans selon après avant chez entre vers lors dès depuis pendant "
    "quand si que qui quoi dont où ne pas plus tout tous toute toutes",
    "en": "the a an this that these those his her its their our my your he she it they we "
    "you i and or but in on at for by with of to from as if when while after before "
    "during since until into onto upon",
    "de": "der die das den dem des ein eine einer eines einem einen und oder aber in im "
    "an am auf für mit von vom zu zum zur bei nach aus er sie es wir ihr ich du",
}
FUNCTION_WORDS: frozenset[str] = frozenset(" ".join(_FUNCTION.values()).split())

# spaCy's stop lists are taken up to this length: the short entries are the closed classes
# (articles, pronouns, prepositions); longer ones include content words that make names on their
# own ("zeit" in "Die Zeit", "erste" in "Das Erste", "mundo", "morgen", "state").
_MAX_STOP_WORD = 3
# Short stop-list entries that are names, or a name's only capitalised word, in news text:
# "The Who", "El Día" (Tenerife daily), "Dag" (Swedish first name), "Ben", "Bom Jesus".
_NOT_FUNCTION = {
    "en": "who may",  # "The Who"; "May" (Theresa May, Brian May), a modal in the stop list
    "es": "día dia",
    "nl": "ben",
    "pt": "bom",
    "sv": "dag",
}


@cache
def function_words(language: str | None = None) -> frozenset[str]:
    """Short closed-class words of `language`: spaCy's stop list entries of at most 3 letters
    (numbers excluded where spaCy knows them: "six", "dos"), plus the curated FUNCTION_WORDS of
    every language, minus names (_NOT_FUNCTION). None or an unknown language: the curated
    FUNCTION_WORDS only."""
    if language not in SUPPORTED_LANGUAGES:
        return FUNCTION_WORDS
    import spacy.util
    from spacy.attrs import LIKE_NUM

    defaults = spacy.util.get_lang_class(language).Defaults
    like_num = defaults.lex_attr_getters.get(LIKE_NUM)
    # The curated lists of every language are the floor (as before the stop lists came in):
    # a French "d'" or "si" stays a function word in any text.
    words_: set[str] = set(FUNCTION_WORDS)
    for word in defaults.stop_words:
        word = word.casefold()
        if not word.isalpha() or len(word) > _MAX_STOP_WORD:
            continue
        if like_num is not None and like_num(word):
            continue
        words_.add(word)
    return frozenset(words_ - set(_NOT_FUNCTION.get(language, "").split()))


# Capitalised by convention, not names, when they stand alone.
_NOT_ALONE = {
    "fr": "état etat états etats gouvernement président présidente premier ministre "
    "monsieur madame mademoiselle messieurs mesdames dieu",
    "en": "state government president minister mr mrs ms sir madam",
    "de": "staat regierung präsident ministerin minister herr frau",
}
NOT_ALONE_WORDS: frozenset[str] = frozenset(" ".join(_NOT_ALONE.values()).split())

# French plural demonyms ("les Américains", "des Ukrainiens"), by suffix. Place
# names with these endings are rare and, unlike demonyms, rarely plural with an
# article ("les Balkans", "les Philippines" are kept out of the list on purpose).
_FR_DEMONYM_RE = re.compile(
    r"^[A-ZÀ-Ý][\w-]*(?:ains|aines|iens|iennes|éens|éennes|ais|aises|ois|oises|ands|ols|oles"
    r"|ites|ins|ens|ots|otes|ecs|ques)$"
)
_FR_PLURAL_DETERMINERS = frozenset(
    [
        "les",
        "des",
        "aux",
        "ces",
        "nos",
        "vos",
        "leurs",
        "deux",
        "trois",
        "quelques",
        "plusieurs",
        "certains",
        "nombreux",
    ]
)

_WORD_RE = re.compile(r"\w+(?:[-'’]\w+)*")

# A word broken across a line by the typesetter: "Massachu¬ setts" (OCR marks the
# break with a not sign), "Mas\u00adsachusetts" (a soft hyphen left in).
LINE_BREAK_HYPHEN_RE = re.compile(r"(?<=\w)[¬\u00ad][ \t]*(?:\r?\n)?[ \t]*(?=\w)")


def unbreak(surface: str) -> str:
    """The surface with words broken across lines joined: "Massachu¬ setts" -> "Massachusetts"."""
    return LINE_BREAK_HYPHEN_RE.sub("", surface)


def fold(text: str) -> str:
    """Case- and accent-insensitive key ("TRUMP", "Trump", "TRUM¬ P" -> "trump")."""
    decomposed = unicodedata.normalize("NFD", unbreak(text).casefold())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(_WORD_RE.findall(stripped.replace("’", "'")))


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


# --- rules that drop a mention ---------------------------------------------------------------


def is_calendar(surface: str, language: str | None = None) -> bool:
    """Weekday or month names, possibly with numbers: "Lundi", "25 février", "Friday",
    "12 stycznia" (see calendar_words; None: any supported language). An inflected (genitive)
    month counts in lower case or after a number only: "Марта", "Maja" alone are first names."""
    tokens = words(surface)
    lettered = [t for t in tokens if not t.isdigit()]
    if not lettered:
        return False
    names = calendar_words(language)
    inflected = inflected_calendar_words(language)
    has_number = len(lettered) < len(tokens)
    for token in lettered:
        key = token.casefold()
        if key not in names:
            return False
        if key in inflected and not (has_number or token.islower()):
            return False
    return True


def has_no_name_word(surface: str, language: str | None = None) -> bool:
    """No capitalised word except function words: "La guerre", "Il", "les". In a script without
    case (Chinese, Arabic) every word that is not a function word can be a name."""
    tokens = words(surface)
    if not tokens:
        return True
    function = function_words(language)
    for token in tokens:
        head = _head(token)
        initial = head[:1]
        can_name = (initial.isupper() or _is_uncased(initial)) and not initial.isdigit()
        if can_name and head.casefold() not in function:
            return False
        if any(ch.isupper() for ch in head[1:]) or any(ch.isdigit() for ch in head):
            return False  # "eBay", "iPhone", "G7"
    return True


def _head(token: str) -> str:
    """The word after a French elision: "d'État" -> "État", "l’Élysée" -> "Élysée"."""
    return re.sub(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)['’]", "", token, flags=re.IGNORECASE)


def is_lone_title(surface: str) -> bool:
    """A capitalised common noun alone: "État" in "télévision d'État", "Président"."""
    tokens = words(surface)
    return len(tokens) == 1 and _head(tokens[0]).casefold() in NOT_ALONE_WORDS


def boilerplate_names(boilerplate: Iterable[str]) -> frozenset[str]:
    """Folded names that come from removed boilerplate lines: each line, each
    domain in it and the domain's name without its TLD ("alpha-news")."""
    names: set[str] = set()
    for line in boilerplate:
        folded = fold(line)
        if folded:
            names.add(folded)
        for domain in re.findall(r"(?:[\w-]+\.)+[a-z]{2,}", line, flags=re.IGNORECASE):
            host = domain.lower().removeprefix("www.")
            names.add(fold(host))
            names.add(fold(host.rsplit(".", 1)[0]))
        line_words = [w for w in words(line) if not w.isdigit()]
        if len(line_words) == 1:
            # A counter or prompt ("Kommentare (0)", "Partager"): its one word.
            names.update(fold(w) for w in line_words if len(w) >= 4)
    names.discard("")
    return frozenset(names)


def is_boilerplate(surface: str, names: frozenset[str]) -> bool:
    return fold(surface) in names


# --- span rules ------------------------------------------------------------------------------

# A possessive ending ("Reagan's", "Gilmore’s", "Clinton 's" in tokenised text)
# is grammar, not part of the name.
_POSSESSIVE_RE = re.compile(r"(?<=\w)\s?['’]s$")
# A number after a person's name is a score, an age or a count ("J. Adams 123",
# "S. Watkin 4-28"); names do not end in digits ("Henry V" has none).
_TRAILING_NUMBER_RE = re.compile(r"(?:\s+[\d.,:/-]*\d[\d.,:/-]*)+$")


# A full stop glued to the next sentence ("SUISSE.Le", "Washington.16": lost spaces in
# OCR and scraped text) ends the name; "U.S.A", "J.R.R." and "Amazon.com" do not match.
_GLUED_SENTENCE_RE = re.compile(r"(?<=[^\W\d_]{2})\.(?=\d|[A-ZÀ-Ý][a-zà-ÿ])")


def trim_tail(text: str, start: int, end: int, label: Label) -> int:
    """End offset without a glued next sentence, a possessive ending, and trailing
    numbers on PER."""
    surface = text[start:end]
    match = _GLUED_SENTENCE_RE.search(surface)
    if match:
        surface = surface[: match.start()]
    match = _POSSESSIVE_RE.search(surface)
    if match and match.start() > 0:
        surface = surface[: match.start()]
    if label == "PER":
        match = _TRAILING_NUMBER_RE.search(surface)
        if match and match.start() > 0:
            surface = surface[: match.start()]
    return start + len(surface)


# --- label rules -----------------------------------------------------------------------------


def is_french_demonym(text: str, start: int, end: int) -> bool:
    """ "Américains" after a plural determiner ("les", "des" ...), or whose lower-case
    form occurs in the text as an adjective ("le président américain")."""
    surface = text[start:end]
    if not _FR_DEMONYM_RE.match(surface):
        return False
    before = words(text[max(0, start - 30) : start])
    if before and before[-1].casefold() in _FR_PLURAL_DETERMINERS:
        return True
    stem = surface[:-1].casefold()  # "américain"; case-sensitive search: lower case only
    return re.search(rf"(?<!\w){re.escape(stem)}(?:e|es|s)?(?!\w)", text) is not None


# Lower-case articles and prepositions the model sometimes takes into a name
# ("la France", "l'Europe", "au Caire"). A capitalised one belongs to the name
# ("La Haye", "Le Caire", "The Hague") and stays. French particles of surnames
# ("de Gaulle", "du Bellay") stay too: persons are left alone.
_LEADING_ARTICLE_RE = {
    "en": re.compile(r"the\s+(?=[A-Z0-9])"),
    "fr": re.compile(r"(?:(?:la|le|les|de|du|des|au|aux|à|en)\s+|[ld]['’])(?=[A-ZÀ-Ý0-9])"),
}


def strip_leading_article(
    text: str, start: int, end: int, language: str, label: Label = "LOC"
) -> int:
    """Start after a lower-case article or preposition: "the United States" ->
    "United States", "la France" -> "France", "l'Europe" -> "Europe"."""
    pattern = _LEADING_ARTICLE_RE.get(language)
    if pattern is None or (label == "PER" and language != "en"):
        return start
    match = pattern.match(text, start, end)
    return match.end() if match else start


def surname_parts(surface: str) -> list[str]:
    """Folded suffixes of a multi-word name that can stand for it: "Vladimir Poutine" ->
    ["poutine"]; "Charles de Gaulle" -> ["de gaulle", "gaulle"]."""
    tokens = fold(surface).split()
    if len(tokens) < 2:
        return []
    parts = [" ".join(tokens[i:]) for i in range(1, len(tokens))]
    return [p for p in parts if p.split()[0] not in FUNCTION_WORDS or len(p.split()) > 1]


# --- the pipeline of rules -------------------------------------------------------------------

Rule = Callable[[str, list[Mention], Context], list[Mention]]


def rule_leading_article(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    return [
        replace(m, start=strip_leading_article(text, m.start, m.end, context.language, m.label))
        for m in mentions
    ]


def rule_trim_tail(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    return [replace(m, end=trim_tail(text, m.start, m.end, m.label)) for m in mentions]


def rule_calendar(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    """Drop weekday and month names, except the surname of a longer PER of the document
    ("May" after "Theresa May")."""
    surnames = {
        part for m in mentions if m.label == "PER" for part in surname_parts(text[m.start : m.end])
    }
    return [
        m
        for m in mentions
        if not is_calendar(text[m.start : m.end], context.language)
        or fold(text[m.start : m.end]) in surnames
    ]


def rule_no_name_word(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    return [m for m in mentions if not has_no_name_word(text[m.start : m.end], context.language)]


def rule_lone_title(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    return [m for m in mentions if not is_lone_title(text[m.start : m.end])]


def rule_boilerplate(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    names = boilerplate_names(context.boilerplate)
    return [m for m in mentions if not is_boilerplate(text[m.start : m.end], names)]


def rule_capitalised_articles(
    text: str, mentions: list[Mention], context: Context
) -> list[Mention]:
    return apply_capitalised_articles(text, mentions, context.language)


def rule_dateline(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    return apply_dateline(mentions, context.dateline)


def rule_demonyms(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    if context.language != "fr":
        return mentions
    return [
        replace(m, label="MISC", locked=True)
        if m.label in ("LOC", "ORG") and is_french_demonym(text, m.start, m.end)
        else m
        for m in mentions
    ]


def rule_surnames(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    return apply_surnames(text, mentions)


def rule_majority(text: str, mentions: list[Mention], context: Context) -> list[Mention]:
    return apply_majority(text, mentions)


# In order: span edges first, then the rules that drop a mention (on the trimmed surface), then
# the document-level label rules. `make eval` switches each one off to measure it.
RULES: tuple[tuple[str, Rule], ...] = (
    ("leading_article", rule_leading_article),
    ("trim_tail", rule_trim_tail),
    ("calendar", rule_calendar),
    ("no_name_word", rule_no_name_word),
    ("lone_title", rule_lone_title),
    ("boilerplate", rule_boilerplate),
    ("capitalised_articles", rule_capitalised_articles),
    ("dateline", rule_dateline),
    ("demonyms", rule_demonyms),
    ("surnames", rule_surnames),
    ("majority", rule_majority),
)
RULE_NAMES: tuple[str, ...] = tuple(name for name, _ in RULES)


def postprocess(
    text: str,
    mentions: Sequence[Mention],
    context: Context,
    disabled: Collection[str] = (),
) -> list[Mention]:
    """Mentions after every rule of RULES not named in `disabled`, sorted by offset."""
    unknown = set(disabled) - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"unknown post-processing rules: {sorted(unknown)}")
    kept = list(mentions)
    for name, rule in RULES:
        if name not in disabled:
            kept = rule(text, kept, context)
    return sorted(kept, key=lambda m: (m.start, m.end))


# A capitalised article opens a sentence or belongs to the name ("The Hague").
_CAPITALISED_ARTICLE_RE = {
    "en": re.compile(r"The\s+(?=[A-Z0-9])"),
    "fr": re.compile(r"(?:(?:La|Le|Les)\s+|L['’])(?=[A-ZÀ-Ý0-9])"),
}


def apply_capitalised_articles(text: str, mentions: list[Mention], language: str) -> list[Mention]:
    """ "The Commerce Department" at the start of a sentence loses its "The" when the
    document also names "Commerce Department" without it; "The Hague", whose bare
    form never occurs, keeps it."""
    pattern = _CAPITALISED_ARTICLE_RE.get(language)
    if pattern is None:
        return mentions
    bare = {
        fold(text[m.start : m.end]) for m in mentions if not pattern.match(text, m.start, m.end)
    }
    result = []
    for m in mentions:
        match = pattern.match(text, m.start, m.end)
        if match and fold(text[match.end() : m.end]) in bare:
            m = replace(m, start=match.end())
        result.append(m)
    return result


def apply_dateline(mentions: list[Mention], dateline: tuple[int, int] | None) -> list[Mention]:
    """The dateline place is a LOC with exactly the place's span."""
    if dateline is None:
        return mentions
    start, end = dateline
    if start >= end:
        return mentions
    others = [m for m in mentions if m.end <= start or m.start >= end]
    covering = [m for m in mentions if not (m.end <= start or m.start >= end)]
    model_label = covering[0].model_label if covering else "DATELINE"
    others.append(Mention(start, end, "LOC", model_label, locked=True))
    return others


def apply_surnames(text: str, mentions: list[Mention]) -> list[Mention]:
    """A mention equal to the last part of a longer PER mention becomes PER."""
    parts: set[str] = set()
    for m in mentions:
        if m.label == "PER":
            parts.update(surname_parts(text[m.start : m.end]))
    if not parts:
        return mentions
    result: list[Mention] = []
    for m in mentions:
        key = fold(text[m.start : m.end])
        if key in parts and not (m.locked and m.label != "PER"):
            m = replace(m, label="PER", locked=True)
        result.append(m)
    return result


def apply_majority(text: str, mentions: list[Mention]) -> list[Mention]:
    """The same surface form (case- and accent-folded) gets its majority label;
    locked labels vote and win ties; other ties keep the label seen first."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, dict[str, int]] = defaultdict(dict)
    locked: dict[str, str] = {}
    for index, m in enumerate(mentions):
        key = fold(text[m.start : m.end])
        votes[key][m.label] += 1
        first[key].setdefault(m.label, index)
        if m.locked:
            locked.setdefault(key, m.label)
    winners: dict[str, str] = {}
    for key, counter in votes.items():
        if key in locked:
            winners[key] = locked[key]
            continue
        winners[key] = min(counter, key=lambda label: (-counter[label], first[key][label]))
    return [
        m if m.locked else replace(m, label=winners[fold(text[m.start : m.end])]) for m in mentions
    ]


__all__ = [
    "FUNCTION_WORDS",
    "LINE_BREAK_HYPHEN_RE",
    "RULES",
    "RULE_NAMES",
    "SUPPORTED_LANGUAGES",
    "Context",
    "Mention",
    "Rule",
    "apply_capitalised_articles",
    "apply_dateline",
    "apply_majority",
    "apply_surnames",
    "boilerplate_names",
    "calendar_words",
    "function_words",
    "has_no_name_word",
    "inflected_calendar_words",
    "is_boilerplate",
    "is_calendar",
    "is_french_demonym",
    "is_lone_title",
    "postprocess",
    "strip_leading_article",
    "surname_parts",
    "trim_tail",
    "unbreak",
    "words",
]
