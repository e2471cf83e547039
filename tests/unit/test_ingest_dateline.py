"""Wire dateline parsing: place, date and agency with offsets into the paragraph."""

import pytest

from services.ingest.dateline import parse_dateline


@pytest.mark.parametrize(
    ("paragraph", "place", "date", "agency"),
    [
        # French
        ("MOSCOU, 25 février (Reuters) - Le Kremlin a déclaré", "MOSCOU", "25 février", "Reuters"),
        ("PARIS, 1er mars 2025 (AFP) - Le gouvernement", "PARIS", "1er mars 2025", "AFP"),
        ("Paris (AFP) - Le gouvernement a annoncé", "Paris", None, "AFP"),
        ("SAINT-ÉTIENNE, mardi 4 mars (AFP) – Un incendie", "SAINT-ÉTIENNE", "mardi 4 mars", "AFP"),
        # English
        ("WASHINGTON (AP) — The Senate voted", "WASHINGTON", None, "AP"),
        ("PARIS, Feb 25 (Reuters) - France said", "PARIS", "Feb 25", "Reuters"),
        ("LONDON, March 3 (Reuters) – Britain's economy", "LONDON", "March 3", "Reuters"),
        (
            "NEW YORK, Feb. 25, 2025 /PRNewswire/ -- Acme Corp",
            "NEW YORK",
            "Feb. 25, 2025",
            "PRNewswire",
        ),
        ("New York (AP) — Stocks fell", "New York", None, "AP"),
        ("KYIV/MOSCOW (Reuters) - Both sides", "KYIV/MOSCOW", None, "Reuters"),
        ("MOSCOW — The Kremlin said on Tuesday", "MOSCOW", None, None),
        # German
        ("BERLIN, 3. März (dpa) - Die Bundesregierung", "BERLIN", "3. März", "dpa"),
        ("Frankfurt am Main (dpa) - Die Börse", "Frankfurt am Main", None, "dpa"),
        ("Berlin, 3. März - Die Koalition", "Berlin", "3. März", None),
        ("HAMBURG, 25.02.2025 (dpa) - Der Hafen", "HAMBURG", "25.02.2025", "dpa"),
        # Month names of every language from CLDR (Babel), and wire styles elsewhere
        ("MADRID, 12 de marzo (EFE). - El presidente", "MADRID", "12 de marzo", "EFE"),
        ("LIMA, 3 set (EFE).- El Gobierno", "LIMA", "3 set", "EFE"),
        ("LIMA, 3 de setiembre (EFE) - El Gobierno", "LIMA", "3 de setiembre", "EFE"),
        ("WARSZAWA, 5 marca (PAP) - Premier Donald Tusk", "WARSZAWA", "5 marca", "PAP"),
        ("LISBOA, 4 de março (Lusa) - O Governo", "LISBOA", "4 de março", "Lusa"),
        ("STOCKHOLM, 4 mars (TT) - Regeringen", "STOCKHOLM", "4 mars", "TT"),
        ("WIEN, 4. Jänner (APA) - Die Regierung", "WIEN", "4. Jänner", "APA"),
        ("КИЇВ, 5 березня (Укрінформ) – Президент", "КИЇВ", "5 березня", "Укрінформ"),
        ("МОСКВА, 5 мар — РИА Новости. Президент", "МОСКВА", "5 мар", None),
        # A full stop ends it only after an all-caps place and a date (Russian agencies).
        ("МОСКВА, 5 марта. Президент России", "МОСКВА", "5 марта", None),
        ("LONDON, March 3. The Bank of England", "LONDON", "March 3", None),
    ],
)
def test_dateline_is_parsed(
    paragraph: str, place: str, date: str | None, agency: str | None
) -> None:
    dateline = parse_dateline(paragraph)
    assert dateline is not None
    assert (dateline.place, dateline.date, dateline.agency) == (place, date, agency)
    assert dateline.place_start is not None and dateline.place_end is not None
    assert paragraph[dateline.place_start : dateline.place_end] == place


@pytest.mark.parametrize(
    "paragraph",
    [
        "",
        "Le Kremlin a déclaré mardi que la Russie était ouverte - selon Peskov.",
        "The minister said - after a long pause - that talks would resume.",
        "Paris (France) is the capital.",
        "BREAKING — The Kremlin said on Tuesday",
        "Le Kremlin a parlé à MOSCOU, 25 février (Reuters) - en fin de journée.",
        "Kremlin-backed groups - as reported - grew.",
        "UN - a short acronym before a dash is not a place",
        "MOSCOU, 25 février (Reuters)Le Kremlin",
        "Paris, 5 mars. Le président",  # a full stop after a title-case place: a sentence
        "MOSCOU. Le Kremlin",  # no date: no dateline
        "Madrid, la capital, 12 de marzo. El Gobierno",
    ],
)
def test_non_datelines_are_rejected(paragraph: str) -> None:
    assert parse_dateline(paragraph) is None


def test_offsets_are_relative_to_the_paragraph_start() -> None:
    dateline = parse_dateline("LONDON, March 3 (Reuters) – text")
    assert dateline is not None
    assert (dateline.place_start, dateline.place_end) == (0, 6)
