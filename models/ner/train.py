"""python -m models.ner.train LANG [--train a,b] [--max-minutes N] ...

Builds DocBins from the TSV files (read in place) under build/ner/<lang>/corpus, trains
models/ner/config.cfg with `nlp.lang=<lang>` and a seed, copies the best checkpoint to
build/ner/<lang>/pipeline (weights, config, vocab: no optimizer state), evaluates it on every dev
set, prints per-label and micro P/R/F1, words/s, size and wall time, and writes MODEL_CARD.md and
card.json into the pipeline folder.

Dev sets: the language's `*-dev.tsv` files; a dev file whose documents are URLs (GermEval) is also
scored as its news part (not wikipedia.org) and its Wikipedia part. A language without a dev file
holds out the last 10% of its first training file, by document (by trailing sentences when the file
has no document markers, as it/kind-wikinews-train.tsv).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training.initialize import init_nlp
from spacy.training.loop import train as train_nlp
from spacy.util import load_config
from thinc.api import Config

from models.ner import callbacks
from models.ner.card import (
    ROWS_KEY,
    WIDTH_KEY,
    build_card,
    data_entry,
    folder_size,
    restrictions,
    sha256_file,
    sha256_text,
    write_card,
)
from models.ner.data import (
    DEFAULT_MAX_TOKENS,
    LABELS,
    SourceDoc,
    chunk_documents,
    iob2_spans,
    read_tsv,
    split_tail,
    to_doc,
    to_docbin,
)
from models.ner.scoring import CORE_LABELS, format_scores, score
from models.ner.sources import (
    HOLDOUT_FRACTION,
    SourceInfo,
    default_train_files,
    dev_files,
    holds_out,
    load_sources,
    relative_name,
    source_info,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("config.cfg")
DEFAULT_DATA = ROOT.parent / "shared" / "train" / "ner"
NO_MISC_POLICIES = ("mask", "keep", "drop")


@dataclass
class DevSet:
    name: str
    docs: list[SourceDoc]
    misc_annotated: bool


@dataclass
class Plan:
    """What one run reads: training documents per file, and the dev sets."""

    train: list[tuple[SourceInfo, Path, list[SourceDoc]]] = field(default_factory=list)
    dev: list[DevSet] = field(default_factory=list)
    dev_infos: list[tuple[SourceInfo, Path, str]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def note(self, file: str, text: str) -> None:
        self.notes[file] = f"{self.notes[file]}; {text}" if file in self.notes else text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m models.ner.train", description=__doc__)
    parser.add_argument("lang", help="language code, e.g. de")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("NEWSFLOW_NER_DATA") or DEFAULT_DATA),
        help="NER data folder (default: $NEWSFLOW_NER_DATA or ../shared/train/ner)",
    )
    parser.add_argument("--train", default="", help="comma-separated files (default per language)")
    parser.add_argument("--dev", default="", help="comma-separated dev files (default *-dev.tsv)")
    parser.add_argument(
        "--no-misc",
        choices=NO_MISC_POLICIES,
        default="mask",
        help="sources without MISC labels: mask (capitalised/digit O tokens missing), "
        "keep (O as O) or drop (leave the source out); default mask",
    )
    parser.add_argument(
        "--no-misc-files", default="", help="comma-separated files to treat as MISC-less too"
    )
    parser.add_argument(
        "--max-minutes", type=float, default=0.0, help="training time limit (0: none, the default)"
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=8000,
        help="training steps (default 8000; a step-limited run is reproducible, a timed one not)",
    )
    parser.add_argument(
        "--version", default="1.0.0", help="pipeline version written to meta.json (default 1.0.0)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="per doc")
    parser.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="best",
        help="ship the checkpoint that scored best on the first dev set (default), or the last "
        "step's: where the first dev set is not what the model is for (German: all of GermEval "
        "with its MISC, for a model meant for news PER/LOC/ORG), a fixed step count is chosen "
        "without looking at it",
    )
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument(
        "--width",
        type=int,
        default=0,
        help="tok2vec width (default: the config's, 64); weights grow with its square",
    )
    parser.add_argument(
        "--rows",
        default="",
        help="hash embedding rows for NORM,PREFIX,SUFFIX,SHAPE (default: the config's, "
        "5000,1000,2500,1000)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default build/ner/<lang>")
    parser.add_argument(
        "--eval-only", action="store_true", help="score the existing pipeline, do not train"
    )
    parser.add_argument(
        "--finish",
        action="store_true",
        help="export and card the checkpoint of a run stopped after step --max-steps's "
        "evaluation (the same model-best a run with --max-steps would export)",
    )
    return parser.parse_args(argv)


def resolve_files(spec: str, data_dir: Path) -> list[Path]:
    """Comma-separated paths; relative ones are looked up in the data folder, then the CWD."""
    files: list[Path] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        path = Path(part)
        if not path.is_absolute() and (data_dir / path).exists():
            path = data_dir / path
        if not path.exists():
            raise FileNotFoundError(path)
        files.append(path)
    return files


def url_subsets(docs: Sequence[SourceDoc]) -> dict[str, list[SourceDoc]]:
    """news / wikipedia parts of a file whose document ids are source URLs (GermEval: some are
    bare 'welt.de vom 09.03.2006'); anything not on wikipedia.org is news. {} otherwise."""
    if not any(d.doc_id.startswith(("http://", "https://")) for d in docs):
        return {}
    wiki = [d for d in docs if "wikipedia.org" in d.doc_id]
    news = [d for d in docs if "wikipedia.org" not in d.doc_id]
    return {"news": news, "wikipedia": wiki}


def plan_data(args: argparse.Namespace) -> Plan:
    data_dir: Path = args.data
    table = load_sources(data_dir)
    forced_no_misc = {p.resolve() for p in resolve_files(args.no_misc_files, data_dir)}
    train_files = resolve_files(args.train, data_dir) or default_train_files(args.lang, data_dir)
    dev_paths = resolve_files(args.dev, data_dir) or dev_files(args.lang, data_dir, train_files)
    plan = Plan()

    def info_of(path: Path) -> SourceInfo:
        info = source_info(relative_name(path, data_dir), table)
        if path.resolve() in forced_no_misc:
            info = SourceInfo(info.file, info.domain, info.licence, info.flag, False)
        return info

    for index, path in enumerate(train_files):
        info, docs = info_of(path), read_tsv(path)
        if index == 0 and holds_out(args.lang, dev_paths):
            docs, held = split_tail(docs, HOLDOUT_FRACTION)
            name = f"{info.file} (last {HOLDOUT_FRACTION:.0%} held out)"
            plan.dev.append(DevSet(name, held, info.misc_annotated))
            plan.dev_infos.append((info, path, "dev (held out)"))
            plan.note(
                info.file,
                (
                    f"news dev set for {args.lang} (its dev files are not news)"
                    if dev_paths
                    else f"no dev file for {args.lang}"
                )
                + f": the last {HOLDOUT_FRACTION:.0%} of this file "
                f"({sum(d.n_tokens for d in held)} tokens, "
                + (
                    "whole documents"
                    if len(held) > 1 or held[0].doc_id
                    else "no document markers, so trailing sentences"
                )
                + ") is the dev set and was not trained on",
            )
        if not info.misc_annotated and args.no_misc == "drop":
            plan.note(info.file, "no MISC labels: left out (--no-misc drop)")
            continue
        if not info.misc_annotated:
            plan.note(info.file, f"no MISC labels: --no-misc {args.no_misc}")
        plan.train.append((info, path, docs))
    for path in dev_paths:
        info = info_of(path)
        docs = read_tsv(path)
        plan.dev.append(DevSet(info.file, docs, info.misc_annotated))
        plan.dev_infos.append((info, path, "dev"))
        for part, subset in url_subsets(docs).items():
            plan.dev.append(DevSet(f"{info.file} [{part}]", subset, info.misc_annotated))
    if not plan.dev:
        raise SystemExit(f"no dev data for {args.lang}")
    return plan


def build_corpus(plan: Plan, args: argparse.Namespace, corpus_dir: Path) -> dict[str, int]:
    """train.spacy from every kept training file, dev.spacy from the first dev set."""
    vocab = spacy.blank(args.lang).vocab
    corpus_dir.mkdir(parents=True, exist_ok=True)
    train_docs = [
        to_doc(vocab, piece, misc_annotated=info.misc_annotated or args.no_misc == "keep")
        for info, _, docs in plan.train
        for piece in chunk_documents(docs, args.max_tokens)
    ]
    dev_docs = [to_doc(vocab, piece) for piece in chunk_documents(plan.dev[0].docs)]
    to_docbin(train_docs).to_disk(corpus_dir / "train.spacy")
    to_docbin(dev_docs).to_disk(corpus_dir / "dev.spacy")
    return {
        "train_docs": len(train_docs),
        "train_tokens": sum(len(d) for d in train_docs),
        "dev_docs": len(dev_docs),
    }


def overrides_for(args: argparse.Namespace, corpus_dir: Path) -> dict[str, Any]:
    return {
        "paths.train": str(corpus_dir / "train.spacy"),
        "paths.dev": str(corpus_dir / "dev.spacy"),
        "nlp.lang": args.lang,
        "system.seed": args.seed,
        "training.max_steps": args.max_steps,
        "training.before_update.max_minutes": args.max_minutes,
    } | architecture_overrides(args)


def architecture_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """--width and --rows as config overrides (only when given, so older cards stay as they are)."""
    overrides: dict[str, Any] = {}
    if args.width:
        overrides[WIDTH_KEY] = args.width
    if args.rows:
        rows = [int(r) for r in args.rows.split(",")]
        if len(rows) != 4 or min(rows) < 1:
            raise SystemExit("--rows takes four positive numbers (NORM,PREFIX,SUFFIX,SHAPE)")
        overrides[ROWS_KEY] = rows
    return overrides


def train(config_path: Path, output: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """spaCy's own training loop; a time limit ends it with model-best kept. Returns timings and
    the last completed step: `--max-steps <it> --max-minutes 0` replays the run without a clock."""
    config = load_config(config_path, overrides=overrides, interpolate=False)
    nlp = init_nlp(config)
    output.mkdir(parents=True, exist_ok=True)
    callbacks.PROGRESS.clear()
    started = time.perf_counter()
    stopped, unfinished = "max_steps or patience", 0
    try:
        train_nlp(nlp, output, stdout=sys.stdout, stderr=sys.stderr)
    except callbacks.TimeLimitReached as reached:
        stopped, unfinished = f"time limit ({reached})", 1
    return {
        "train_seconds": round(time.perf_counter() - started, 1),
        "stopped_by": stopped,
        "last_step": callbacks.PROGRESS.get("step", 0) - unfinished,
        "epochs": callbacks.PROGRESS.get("epoch", 0),
    }


PIPELINE_NAME = "newsflow_ner"  # meta.json name: the package reads "<lang>_newsflow_ner"


def export_pipeline(
    training_dir: Path, pipeline_dir: Path, version: str = "1.0.0", checkpoint: str = "best"
) -> str:
    """Copy the best checkpoint (model-last when no evaluation happened, or with
    checkpoint="last") as the pipeline, named `<lang>_newsflow_ner` at `version`, with the
    string store emptied down to the labels (see `prune_strings`)."""
    best = training_dir / "model-best"
    use_best = checkpoint == "best" and best.is_dir()
    source = best if use_best else training_dir / "model-last"
    if pipeline_dir.exists():
        shutil.rmtree(pipeline_dir)
    nlp = spacy.load(source)
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["version"] = version
    nlp.to_disk(pipeline_dir)
    prune_strings(pipeline_dir, LABELS)
    strip_training_config(pipeline_dir / "config.cfg")
    return source.name


def strip_training_config(path: Path) -> None:
    """The shipped config keeps its [training] block (spaCy wants one) but not what only this
    machine's run had: the corpus paths and the time-limit callback (registered by our code)."""
    config = Config().from_disk(path, interpolate=False)
    config["paths"]["train"] = None
    config["paths"]["dev"] = None
    config["training"]["before_update"] = None
    config.to_disk(path)


def prune_strings(pipeline_dir: Path, keep: Sequence[str]) -> None:
    """Training leaves every training token in vocab/strings.json (2+ MB). Hash embeddings and
    the NER moves do not need them (strings are re-added as text is processed), so only the
    labels are kept; main() checks that predictions do not change."""
    strings = pipeline_dir / "vocab" / "strings.json"
    strings.write_text(json.dumps(list(keep)), encoding="utf-8")


def words_of(doc: SourceDoc) -> tuple[list[str], list[tuple[int, int, str]]]:
    words: list[str] = []
    spans: list[tuple[int, int, str]] = []
    for sentence in doc.sentences:
        offset = len(words)
        words.extend(sentence.tokens)
        spans.extend((offset + s, offset + e, lab) for s, e, lab in iob2_spans(sentence.tags))
    return words, spans


def predict(nlp: Language, inputs: Sequence[list[str]]) -> list[list[tuple[int, int, str]]]:
    docs = [Doc(nlp.vocab, words=words) for words in inputs]
    return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in nlp.pipe(docs, batch_size=64)]


def same_predictions(a: Path, b: Path, dev: DevSet, limit: int = 50) -> bool:
    inputs = [words_of(piece)[0] for piece in list(chunk_documents(dev.docs))[:limit]]
    return predict(spacy.load(a), inputs) == predict(spacy.load(b), inputs)


def evaluate(nlp: Language, dev: DevSet) -> tuple[dict[str, Any], int, float]:
    """Scores on pre-tokenised text (the tokenizer is not measured), token count, seconds."""
    inputs = [words_of(piece) for piece in chunk_documents(dev.docs)]
    started = time.perf_counter()
    predicted = predict(nlp, [words for words, _ in inputs])
    seconds = time.perf_counter() - started
    labels = LABELS if dev.misc_annotated else CORE_LABELS
    result = score([spans for _, spans in inputs], predicted, labels)
    tokens = sum(len(words) for words, _ in inputs)
    result["tokens"] = tokens
    return result, tokens, seconds


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    out: Path = (args.out or ROOT / "build" / "ner" / args.lang).resolve()
    corpus_dir, training_dir, pipeline_dir = out / "corpus", out / "training", out / "pipeline"
    plan = plan_data(args)
    overrides = overrides_for(args, corpus_dir)
    training: dict[str, Any] = {}
    if args.finish:
        corpus = corpus_dir / "train.spacy"
        training.update(
            {
                "train_seconds": round(time.time() - corpus.stat().st_mtime, 1),
                "stopped_by": "max_steps (run stopped after this step's evaluation, --finish)",
                "last_step": args.max_steps,
            }
        )
        previous = pipeline_dir / "card.json"
        if previous.is_file():  # a finished run exported again (another --checkpoint): its times
            done = json.loads(previous.read_text(encoding="utf-8")).get("training", {})
            if done.get("last_step") == args.max_steps:
                training.update(
                    {k: done[k] for k in ("train_seconds", "stopped_by", "epochs") if k in done}
                )
                started -= float(done.get("wall_seconds", 0.0))  # wall time: the run's, plus this
        training["checkpoint"] = export_pipeline(
            training_dir, pipeline_dir, args.version, args.checkpoint
        )
        if not same_predictions(training_dir / training["checkpoint"], pipeline_dir, plan.dev[0]):
            raise SystemExit("pruning the string store changed the predictions")
    elif not args.eval_only:
        training.update(build_corpus(plan, args, corpus_dir))
        print(f"corpus: {json.dumps(training)}", flush=True)
        training.update(train(args.config, training_dir, overrides))
        training["checkpoint"] = export_pipeline(
            training_dir, pipeline_dir, args.version, args.checkpoint
        )
        checkpoint = training_dir / training["checkpoint"]
        if not same_predictions(checkpoint, pipeline_dir, plan.dev[0]):
            raise SystemExit("pruning the string store changed the predictions")
    elif (pipeline_dir / "card.json").is_file():
        previous = json.loads((pipeline_dir / "card.json").read_text(encoding="utf-8"))
        training = previous.get("training", {})
    size = folder_size(pipeline_dir) - sum(
        (pipeline_dir / name).stat().st_size
        for name in ("card.json", "MODEL_CARD.md")
        if (pipeline_dir / name).is_file()
    )

    nlp = spacy.load(pipeline_dir)
    evaluation: dict[str, Any] = {}
    tokens, seconds = 0, 0.0
    for dev in plan.dev:
        result, n, s = evaluate(nlp, dev)
        evaluation[dev.name] = result
        tokens, seconds = tokens + n, seconds + s
        print(format_scores(f"\n{dev.name} ({result['tokens']} tokens)", result))
    wps = tokens / seconds if seconds else 0.0
    training["wall_seconds"] = round(time.perf_counter() - started, 1)
    training["no_misc_policy"] = args.no_misc
    training["max_tokens_per_doc"] = args.max_tokens

    infos = [info for info, _, _ in plan.train]
    data = [
        data_entry(info, sha256_file(path), "train", plan.notes.get(info.file, ""))
        for info, path, _ in plan.train
    ] + [
        data_entry(info, sha256_file(path), role, plan.notes.get(info.file, ""))
        for info, path, role in plan.dev_infos
        if role == "dev"
    ]
    card = build_card(
        lang=args.lang,
        data=data,
        licence_flags=restrictions(infos),
        evaluation=evaluation,
        size_bytes=size,
        words_per_second=wps,
        spacy_version=spacy.about.__version__,
        seed=args.seed,
        config_sha256=sha256_text(args.config.read_text(encoding="utf-8")),
        overrides={k: v for k, v in overrides.items() if not k.startswith("paths.")},
        training=training,
    )
    write_card(pipeline_dir, card)
    print(f"\nspeed: {wps:,.0f} words/s over {tokens} dev tokens (pre-tokenised, 1 process)")
    print(f"size: {size / 1e6:.2f} MB ({pipeline_dir})")
    print(f"wall time: {training['wall_seconds'] / 60:.1f} min; training: {training}")
    for flag in card["licence_restrictions"]:
        print(f"LICENCE: {flag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
