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
    ],
)
def test_non_datelines_are_rejected(paragraph: str) -> None:
    assert parse_dateline(paragraph) is None


def test_offsets_are_relative_to_the_paragraph_start() -> None:
    dateline = parse_dateline("LONDON, March 3 (Reuters) – text")
    assert dateline is not None
    assert (dateline.place_start, dateline.place_end) == (0, 6)
