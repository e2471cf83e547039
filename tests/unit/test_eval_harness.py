"""`make eval` on a tiny slice written here (never the licensed data), so the harness cannot rot.
Accuracy targets live in the eval output, not in tests."""

import json
import subprocess
from pathlib import Path

from evaluation.langid import score_news
from evaluation.ner import read_conll, read_hipe, score

ROOT = Path(__file__).resolve().parents[2]

LANGID = """lang\tkind\ttext
fr\tsentences\tLe gouvernement a présenté mardi un nouveau plan pour l'énergie.
fr\tsentences\tLes syndicats restent prudents sur le calendrier des centrales.
fr\tsentences\tLa ville a ouvert une nouvelle bibliothèque au centre.
fr\tsentences\tLe maire a inauguré le pont reconstruit après les crues.
fr\tsentences\tLes élèves reprennent les cours lundi dans toute la région.
fr\tsentences\tUne exposition consacrée à la peinture ouvre ses portes.
fr\tword-pairs\tnouveau gouvernement
fr\tsingle-words\tgouvernement
en\tsentences\tThe government presented a new energy plan on Tuesday morning.
en\tsentences\tUnions remain cautious about the timetable for the plants.
en\tsentences\tThe city opened a new public library in the centre today.
en\tsentences\tThe mayor opened the rebuilt bridge after the spring floods.
en\tsentences\tPupils go back to school on Monday across the whole region.
en\tsentences\tAn exhibition devoted to modern painting opens its doors.
en\tword-pairs\tnew government
en\tsingle-words\tgovernment
"""

CONLL = """-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
visited VBD I-VP O
London NNP I-NP I-LOC
. . O O
"""

HIPE_COLUMNS = (
    "TOKEN NE-COARSE-LIT NE-COARSE-METO NE-FINE-LIT NE-FINE-METO NE-FINE-COMP NE-NESTED"
    " NEL-LIT NEL-METO MISC"
)
HIPE = (
    "\t".join(HIPE_COLUMNS.split())
    + """
# hipe2022:document_id = doc-1
# hipe2022:language = fr
M\tB-pers\tO\tO\tO\tO\tO\t_\t_\tNoSpaceAfter
.\tI-pers\tO\tO\tO\tO\tO\t_\t_\t_
Dupont\tI-pers\tO\tO\tO\tO\tO\t_\t_\t_
est\tO\tO\tO\tO\tO\tO\t_\t_\t_
arrivé\tO\tO\tO\tO\tO\tO\t_\t_\t_
à\tO\tO\tO\tO\tO\tO\t_\t_\t_
Genève\tB-loc\tO\tO\tO\tO\tO\t_\t_\tNoSpaceAfter
.\tO\tO\tO\tO\tO\tO\t_\t_\tEndOfSentence
"""
)


NEWS = [
    {
        "lang": "fr",
        "title": "t",
        "text": "Le gouvernement a présenté mardi un nouveau plan pour "
        "l'énergie, qui prévoit la construction de six réacteurs et des investissements.",
    },
    {
        "lang": "en",
        "title": "t",
        "text": "The government presented a new energy plan on Tuesday, "
        "with six new reactors and more public investment over the next ten years.",
    },
    {"lang": "am", "title": "t", "text": "የኢትዮጵያ መንግሥት ለሠራተኞች አዲስ የደመወዝ ጭማሪ ማድረጉን አስታወቀ።"},
]


def write_data(root: Path) -> None:
    (root / "news-langid").mkdir(parents=True)
    (root / "news-langid" / "dev.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in NEWS), encoding="utf-8"
    )
    (root / "langid").mkdir(parents=True)
    (root / "langid" / "all.tsv").write_text(LANGID, encoding="utf-8")
    (root / "ner" / "conll2003_en").mkdir(parents=True)
    (root / "ner" / "conll2003_en" / "eng.testa").write_text(CONLL, encoding="utf-8")
    (root / "ner" / "hipe2022").mkdir(parents=True)
    (root / "ner" / "hipe2022" / "tiny-dev-fr.tsv").write_text(HIPE, encoding="utf-8")


def test_conll_reader_rebuilds_text_and_iob1_spans(tmp_path: Path) -> None:
    write_data(tmp_path)
    (doc,) = read_conll(tmp_path / "ner" / "conll2003_en" / "eng.testa")
    assert doc.text == "EU rejects German call .\n\nPeter Blackburn visited London ."
    assert [(doc.text[s:e], label) for s, e, label in doc.gold] == [
        ("EU", "ORG"),
        ("German", "MISC"),
        ("Peter Blackburn", "PER"),
        ("London", "LOC"),
    ]


def test_hipe_reader_rebuilds_spacing_and_maps_labels(tmp_path: Path) -> None:
    write_data(tmp_path)
    (doc,) = read_hipe(tmp_path / "ner" / "hipe2022" / "tiny-dev-fr.tsv")
    assert doc.language == "fr"
    assert doc.text == "M. Dupont est arrivé à Genève."
    assert [(doc.text[s:e], label) for s, e, label in doc.gold] == [
        ("M. Dupont", "PER"),
        ("Genève", "LOC"),
    ]


def test_score_exact_spans_micro_and_per_label() -> None:
    gold = [[(0, 2, "ORG"), (5, 9, "PER")]]
    predicted = [[(0, 2, "ORG"), (5, 8, "PER"), (10, 12, "MISC")]]
    result = score(gold, predicted, ("PER", "ORG", "LOC"))  # MISC not scored
    assert result["micro"]["tp"] == 1 and result["micro"]["fp"] == 1
    assert result["micro"]["fn"] == 1 and result["micro"]["f1"] == 0.5
    assert result["per_label"]["ORG"]["f1"] == 1.0


def test_make_eval_runs_on_a_tiny_slice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_data(data)
    out = tmp_path / "eval.json"
    args = f"--limit 2 --mixed-docs 3 --determinism 4 --out {out}"
    done = subprocess.run(
        ["make", "-s", "eval", f"EVAL_DATA={data}", f"EVAL_ARGS={args}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Language identification" in done.stdout and "Named entities" in done.stdout
    results = json.loads(out.read_text(encoding="utf-8"))
    detectors = results["langid"]["detectors"]
    assert {"langdetect", "newsflow", "lingua-high"} <= set(detectors)
    assert set(detectors["newsflow"]["kinds"]) == {"single-words", "word-pairs", "sentences"}
    assert results["langid"]["determinism"]["newsflow"] == 1.0
    assert results["langid"]["memory"]["peak_rss_mb"] > 0
    assert "Language stage memory: peak RSS" in done.stdout
    assert results["langid"]["mixed_documents"]["detectors"]["newsflow"]
    news = results["news_langid"]
    assert news["named"] == ["en", "fr"] and news["languages"] == ["am", "en", "fr"]
    newsflow = news["detectors"]["newsflow"]
    assert newsflow["per_language"]["am"]["und"] == 1.0  # Ethiopic: no supported language
    assert newsflow["named_mean_right"] == 1.0 and newsflow["others_und_or_right"] == 1.0
    assert "Language of news articles" in done.stdout and "am (other)" in done.stdout
    ner = results["ner"]
    assert set(ner["conll2003-en-dev"]["systems"]) == {
        "raw:en_core_web_sm",
        "pruned:en_core_web_sm",
        "newsflow:en_core_web_sm",
    }
    french = ner["hipe2022-fr-dev"]["systems"]
    assert {"raw:fr_core_news_sm", "raw:fr_core_news_md", "newsflow:fr_core_news_md"} <= set(french)
    assert french["newsflow:fr_core_news_md"]["words_per_second"] > 0


def test_news_scores_right_und_wrong_named_mean_and_others() -> None:
    answers = {"a1": "fr", "a2": "und", "b1": "yo", "b2": "en", "c1": "und", "c2": "sw"}
    articles = [("fr", "a1"), ("fr", "a2"), ("yo", "b1"), ("yo", "b2"), ("ha", "c1"), ("ha", "c2")]
    result = score_news(articles, answers.__getitem__, named={"fr", "yo", "en", "sw"})
    assert result["per_language"]["fr"] == {"right": 0.5, "und": 0.5, "wrong": 0.0, "n": 2}
    assert result["per_language"]["yo"] == {"right": 0.5, "und": 0.0, "wrong": 0.5, "n": 2}
    assert result["named_mean_right"] == 0.5  # fr and yo; ha is not named
    assert result["others_und_or_right"] == 0.5  # ha: one und, one wrong
