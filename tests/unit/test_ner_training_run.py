"""NER training run: dev scoring, GermEval news/Wikipedia split, the training time limit."""

from pathlib import Path

import pytest

from models.ner.callbacks import PROGRESS, TimeLimitReached, time_limit
from models.ner.data import SourceDoc
from models.ner.scoring import format_scores, score
from models.ner.train import overrides_for, parse_args, resolve_files, url_subsets


def test_germeval_style_dev_splits_into_news_and_wikipedia() -> None:
    docs = [
        SourceDoc("http://de.wikipedia.org/wiki/Toyota_Crown", ()),
        SourceDoc("http://www.heise.de/tp/1.html", ()),
        SourceDoc("welt.de vom 09.03.2006", ()),
    ]
    parts = url_subsets(docs)
    assert [d.doc_id for d in parts["wikipedia"]] == ["http://de.wikipedia.org/wiki/Toyota_Crown"]
    assert len(parts["news"]) == 2
    assert url_subsets([SourceDoc("conll03-de-testa-0001", ())]) == {}


def test_scores_are_exact_span_per_label_and_micro() -> None:
    gold = [[(0, 2, "PER"), (3, 4, "LOC"), (6, 7, "MISC")]]
    predicted = [[(0, 2, "PER"), (3, 5, "LOC"), (6, 7, "MISC"), (8, 9, "ORG")]]
    result = score(gold, predicted, ["PER", "LOC", "ORG", "MISC"])
    per_label = result["per_label"]
    assert isinstance(per_label, dict)
    assert per_label["PER"]["f1"] == 1.0
    assert per_label["LOC"]["f1"] == 0.0  # a boundary error counts as wrong
    assert result["micro"] == {
        "p": 0.5,
        "r": 0.6667,
        "f1": 0.5714,
        "tp": 2,
        "fp": 2,
        "fn": 1,
        "support": 3,
    }
    assert result["micro_core"]["f1"] == 0.4  # type: ignore[index]


def test_time_limit_stops_training_only_once_the_budget_is_spent() -> None:
    now = [100.0]
    callback = time_limit(2, clock=lambda: now[0])
    callback(None, {"step": 1})
    now[0] += 119
    callback(None, {"step": 2})
    now[0] += 1
    with pytest.raises(TimeLimitReached, match="step 3"):
        callback(None, {"step": 3, "epoch": 1})
    assert PROGRESS == {"step": 3, "epoch": 1}  # what the card reports as progress
    time_limit(0, clock=lambda: 1e12)(None, {"step": 1})  # 0: no limit


def test_table_prints_every_label_and_both_micro_rows() -> None:
    result = score([[(0, 1, "PER")]], [[(0, 1, "PER")]], ["PER", "LOC", "ORG", "MISC"])
    text = format_scores("dev", result)
    assert "micro (PER/LOC/ORG/MISC)" in text and "micro (PER/LOC/ORG)" in text
    assert text.count("\n") == 7


def test_language_seed_and_time_limit_are_config_overrides(tmp_path: Path) -> None:
    args = parse_args(["es", "--seed", "3", "--max-minutes", "12.5"])
    overrides = overrides_for(args, tmp_path)
    assert overrides["nlp.lang"] == "es"
    assert overrides["system.seed"] == 3
    assert overrides["training.before_update.max_minutes"] == 12.5
    assert overrides["paths.train"] == str(tmp_path / "train.spacy")


def test_shipped_config_accepts_the_overrides(tmp_path: Path) -> None:
    from spacy.util import load_config

    import models.ner.callbacks  # noqa: F401  (registers the time-limit callback)
    from models.ner.train import CONFIG

    config = load_config(
        CONFIG, overrides=overrides_for(parse_args(["de"]), tmp_path), interpolate=True
    )
    assert config["nlp"]["pipeline"] == ["tok2vec", "ner"]
    assert config["nlp"]["lang"] == "de"
    assert config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is False
    assert config["training"]["seed"] == 0


def test_train_files_are_found_in_the_data_folder_first(tmp_path: Path) -> None:
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "a-train.tsv").write_text("x\tO\n", encoding="utf-8")
    assert resolve_files("de/a-train.tsv", tmp_path) == [tmp_path / "de" / "a-train.tsv"]
    assert resolve_files("", tmp_path) == []
    with pytest.raises(FileNotFoundError):
        resolve_files("de/missing.tsv", tmp_path)


def test_language_without_dev_file_holds_out_the_tail_of_its_first_source(tmp_path: Path) -> None:
    from models.ner.train import plan_data

    (tmp_path / "xx").mkdir()
    docs = "".join(f"# doc = d{i}\nRoma\tB-LOC\nvince\tO\n\n" for i in range(20))
    (tmp_path / "xx" / "uner-a-train.tsv").write_text(docs, encoding="utf-8")
    plan = plan_data(parse_args(["xx", "--data", str(tmp_path), "--train", "xx/uner-a-train.tsv"]))
    ((info, _, train_docs),) = plan.train
    assert not info.misc_annotated  # UNER: no MISC
    assert [d.doc_id for d in train_docs] == [f"d{i}" for i in range(18)]
    assert [d.doc_id for d in plan.dev[0].docs] == ["d18", "d19"]  # whole documents, not trained
    assert not plan.dev[0].misc_annotated
    assert "last 10%" in plan.notes[info.file] and "--no-misc mask" in plan.notes[info.file]


def test_drop_leaves_misc_less_sources_out(tmp_path: Path) -> None:
    from models.ner.train import plan_data

    (tmp_path / "xx").mkdir()
    for name in ("uner-a-train.tsv", "news-train.tsv", "news-dev.tsv"):
        (tmp_path / "xx" / name).write_text("# doc = a\nRoma\tB-LOC\n", encoding="utf-8")
    args = ["xx", "--data", str(tmp_path), "--train", "xx/news-train.tsv,xx/uner-a-train.tsv"]
    plan = plan_data(parse_args([*args, "--no-misc", "drop"]))
    assert [info.file for info, _, _ in plan.train] == ["xx/news-train.tsv"]
    assert [d.name for d in plan.dev] == ["xx/news-dev.tsv"]


def test_shipped_pipeline_config_has_no_run_specific_training_state(tmp_path: Path) -> None:
    from models.ner.train import CONFIG, strip_training_config

    path = tmp_path / "config.cfg"
    path.write_text(CONFIG.read_text(encoding="utf-8").replace("train = null", "train = /x"))
    strip_training_config(path)
    text = path.read_text(encoding="utf-8")
    assert "newsflow.ner_time_limit" not in text  # loadable without our registry code
    assert "before_update = null" in text and "train = null" in text
    assert "[components.ner.model]" in text  # the model itself is untouched


def test_width_and_rows_are_config_overrides_the_config_accepts(tmp_path: Path) -> None:
    from spacy.util import load_config

    import models.ner.callbacks  # noqa: F401  (registers the time-limit callback)
    from models.ner.train import CONFIG

    args = parse_args(["de", "--width", "96", "--rows", "10000,2000,4000,1000"])
    config = load_config(CONFIG, overrides=overrides_for(args, tmp_path), interpolate=True)
    tok2vec = config["components"]["tok2vec"]["model"]
    assert tok2vec["encode"]["width"] == 96
    assert tok2vec["embed"]["width"] == 96  # interpolated from the encoder's
    assert tok2vec["embed"]["rows"] == [10000, 2000, 4000, 1000]
    assert config["components"]["ner"]["model"]["tok2vec"]["width"] == 96
    default = overrides_for(parse_args(["de"]), tmp_path)
    assert not any(key.startswith("components.") for key in default)  # older cards unchanged
    with pytest.raises(SystemExit):
        overrides_for(parse_args(["de", "--rows", "1,2,3"]), tmp_path)


def test_language_whose_dev_files_are_not_news_holds_out_its_news_source_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.ner import sources, train

    monkeypatch.setattr(sources, "HOLDOUT_EVEN_WITH_DEV", frozenset({"xx"}))
    (tmp_path / "xx").mkdir()
    docs = "".join(f"# doc = d{i}\nRoma\tB-LOC\nvince\tO\n\n" for i in range(10))
    (tmp_path / "xx" / "news-train.tsv").write_text(docs, encoding="utf-8")
    (tmp_path / "xx" / "uner-b-dev.tsv").write_text("# doc = z\nRoma\tB-LOC\n", encoding="utf-8")
    plan = train.plan_data(
        parse_args(["xx", "--data", str(tmp_path), "--train", "xx/news-train.tsv"])
    )
    assert [d.name for d in plan.dev] == [
        "xx/news-train.tsv (last 10% held out)",  # picks the checkpoint
        "xx/uner-b-dev.tsv",
    ]
    assert [d.doc_id for d in plan.dev[0].docs] == ["d9"]
    assert [d.doc_id for d in plan.train[0][2]] == [f"d{i}" for i in range(9)]
    assert "not news" in plan.notes["xx/news-train.tsv"]


def test_swedish_holds_out_news_and_german_uses_its_dev_files() -> None:
    from models.ner.sources import holds_out

    assert holds_out("sv", [Path("sv/uner-talbanken-dev.tsv")])
    assert not holds_out("de", [Path("de/conll03-dev.tsv")])
    assert holds_out("it", [])
