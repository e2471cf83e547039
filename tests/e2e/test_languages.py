"""End to end: one news article per shipped language, with a hand-checked entity each.

Every language with a pipeline under models/<lang>/ (the ones the entities image installs)
must have an article here: a test fails when a model is shipped without one. The texts were
written for these tests (news style: dateline, office, name, place, institution) and each
expected entity was checked by hand against the text. The German, Spanish and Russian
articles expect a person, a place and an organisation each.
"""

import json
from collections.abc import Callable
from importlib import metadata
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

WaitFinal = Callable[..., dict[str, dict[str, Any]]]
MODELS = ROOT / "models"

# language -> (text, expected (entity text, label) pairs)
ARTICLES: dict[str, tuple[str, set[tuple[str, str]]]] = {
    "de": (
        "BERLIN (dpa) - Bundeskanzler Olaf Scholz hat am Mittwoch in Berlin den französischen "
        "Präsidenten Emmanuel Macron empfangen. Die beiden Politiker sprachen über die Lage in "
        "der Ukraine und die Zukunft der Europäischen Union. Die Deutsche Bank begrüßte die "
        "Pläne der Regierung.",
        {("Olaf Scholz", "PER"), ("Berlin", "LOC"), ("Deutsche Bank", "ORG")},
    ),
    "es": (
        "MADRID, 12 de marzo (EFE). - El presidente del Gobierno, Pedro Sánchez, se reunió este "
        "martes en Madrid con el rey Felipe VI para analizar la situación económica del país. "
        "El Banco de España advirtió de que la inflación seguirá alta en los próximos meses.",
        {("Pedro Sánchez", "PER"), ("Madrid", "LOC"), ("Banco de España", "ORG")},
    ),
    "it": (
        "ROMA - La presidente del Consiglio Giorgia Meloni ha incontrato ieri a Roma il "
        "segretario generale della Nato. Al centro del colloquio la guerra in Ucraina e il "
        "sostegno dell'Unione europea. La Banca d'Italia ha rivisto al ribasso le stime di "
        "crescita per il prossimo anno.",
        {("Giorgia Meloni", "PER"), ("Roma", "LOC")},
    ),
    "nl": (
        "DEN HAAG - Premier Dick Schoof heeft dinsdag in Den Haag overlegd met de vakbonden over "
        "de pensioenen. Volgens de FNV is er nog geen akkoord. De Nederlandsche Bank waarschuwt "
        "dat de rente voorlopig hoog blijft en dat de economie in Nederland trager groeit.",
        {("Dick Schoof", "PER"), ("Den Haag", "LOC")},
    ),
    "pt": (
        "LISBOA - O primeiro-ministro Luís Montenegro reuniu-se nesta segunda-feira em Lisboa "
        "com o presidente do Brasil, Luiz Inácio Lula da Silva. Os dois líderes discutiram o "
        "acordo comercial entre a União Europeia e o Mercosul e a cooperação na área da energia.",
        {("Luís Montenegro", "PER"), ("Lisboa", "LOC")},
    ),
    "pl": (
        "WARSZAWA - Premier Donald Tusk spotkał się we wtorek w Warszawie z prezydentem Francji "
        "Emmanuelem Macronem. Rozmowy dotyczyły bezpieczeństwa w Europie i pomocy dla Ukrainy. "
        "Narodowy Bank Polski utrzymał stopy procentowe na niezmienionym poziomie.",
        {("Narodowy Bank Polski", "ORG"), ("Warszawie", "LOC")},
    ),
    "ru": (
        "МОСКВА, 5 марта. Президент России Владимир Путин провёл в Кремле переговоры с "
        "премьер-министром Индии Нарендрой Моди. Стороны обсудили торговлю и поставки нефти. "
        "Банк России сохранил ключевую ставку на прежнем уровне.",
        {("Владимир Путин", "PER"), ("Индии", "LOC"), ("Банк России", "ORG")},
    ),
    "sv": (
        "STOCKHOLM - Statsminister Ulf Kristersson träffade på tisdagen Finlands president "
        "Alexander Stubb i Stockholm. Samtalen handlade om Nato och säkerheten kring Östersjön. "
        "Riksbanken lämnade samtidigt räntan oförändrad, meddelade banken.",
        {("Ulf Kristersson", "PER"), ("Stockholm", "LOC")},
    ),
    "da": (
        "KØBENHAVN - Statsminister Mette Frederiksen mødtes tirsdag med Tysklands "
        "forbundskansler i København. De talte om forsvaret og situationen i Ukraine. Danske "
        "Bank venter, at renten vil falde i løbet af det kommende år.",
        {("Mette Frederiksen", "PER"), ("København", "LOC")},
    ),
    "uk": (
        "КИЇВ - Президент України Володимир Зеленський у вівторок зустрівся в Києві з "
        "генеральним секретарем НАТО. Сторони обговорили оборону та підтримку від "
        "Європейського Союзу. Національний банк України зберіг облікову ставку без змін.",
        {("Володимир Зеленський", "PER")},
    ),
}


# Languages served by a package rather than a pipeline of ours (NER_MODELS): name, version.
PACKAGED = {"ru": ("ru_natasha_ner", metadata.version("natasha"))}


def shipped_languages() -> list[str]:
    return sorted(
        p.name
        for p in MODELS.iterdir()
        if p.is_dir() and (p / "config.cfg").is_file() and (p / "meta.json").is_file()
    )


def expected_model(lang: str) -> dict[str, str]:
    if lang in PACKAGED:
        name, version = PACKAGED[lang]
        return {"name": name, "version": version}
    meta = json.loads((MODELS / lang / "meta.json").read_text(encoding="utf-8"))
    return {"name": f"{lang}_newsflow_ner", "version": meta["version"]}


def served_languages() -> list[str]:
    return sorted(set(shipped_languages()) | set(PACKAGED))


def test_every_served_language_has_an_article() -> None:
    assert shipped_languages(), "no pipeline shipped under models/"
    assert set(served_languages()) <= set(ARTICLES)


@pytest.fixture(scope="module")
def stored(api: httpx.Client, wait_final: WaitFinal) -> dict[str, dict[str, Any]]:
    ids = {}
    for lang in served_languages():
        text, _ = ARTICLES[lang]
        answer = api.post("/articles", json={"text": text, "source": f"e2e-{lang}"})
        assert answer.status_code == 202, answer.text
        ids[lang] = answer.json()["id"]
    final = wait_final(list(ids.values()))
    return {lang: final[aid] for lang, aid in ids.items()}


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_article_gets_entities_from_its_language_model(
    lang: str, stored: dict[str, dict[str, Any]]
) -> None:
    if lang not in stored:
        pytest.fail(f"{lang}: no pipeline under models/{lang} and no package (NER_MODELS)")
    article = stored[lang]
    assert article["status"] == "stored"
    assert article["language"]["code"] == lang
    assert article["entities_status"] == "extracted", article.get("entities_reason")
    # The exact pipeline: name and version as shipped.
    assert article["model"] == expected_model(lang)
    found = {(e["text"], e["label"]) for e in article["entities"]}
    _, expected = ARTICLES[lang]
    assert expected <= found, f"{lang}: missing {expected - found}; found {sorted(found)}"
    for entity in article["entities"]:  # offsets index the clean text
        assert article["text"][entity["start"] : entity["end"]] == entity["text"]


def test_article_nobody_can_name_is_und_and_gets_no_entities(
    api: httpx.Client, wait_final: WaitFinal
) -> None:
    # Amharic (Ethiopic script): neither detector knows it, so no model may run on it.
    text = (
        "አዲስ አበባ፣ መጋቢት 5 – የኢትዮጵያ ጠቅላይ ሚኒስትር ዛሬ በአዲስ አበባ ከአፍሪካ ኅብረት ኮሚሽን "
        "ሊቀመንበር ጋር ተወያዩ። ውይይቱ በቀጣናው ሰላምና ደህንነት ላይ ያተኮረ ነበር። የኢኮኖሚ ትብብርም "
        "ተነስቷል።"
    )
    aid = api.post("/articles", json={"text": text}).json()["id"]
    article = wait_final([aid])[aid]
    assert article["status"] == "stored"
    assert article["language"]["code"] == "und"
    assert article["language"]["reason"].startswith("unsupported_script")
    assert article["entities_status"] == "skipped"
    assert article["entities"] == []
    assert article["model"] is None
