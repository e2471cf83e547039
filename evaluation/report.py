"""Plain-text (Markdown) tables from the results dictionary."""

from __future__ import annotations

from typing import Any

from evaluation.langid import KINDS


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return (
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"
        )

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]
    )


def render_langid(section: dict[str, Any]) -> str:
    if "skipped" in section:
        return f"Language identification skipped: {section['skipped']}"
    out = [
        f"## Language identification ({len(section['languages'])} languages, "
        f"{section['per_language_and_kind'] or 'all'} texts per language and kind, "
        f"{section['samples']} texts)",
        "",
    ]
    rows = []
    for name, scores in section["detectors"].items():
        kinds = scores["kinds"]
        rows.append(
            [name]
            + [_pct(kinds[k]["mean"]) if k in kinds else "-" for k in KINDS]
            + [f"{scores['ms_per_call']:.2f}"]
        )
    out.append(_table(["detector", *KINDS, "ms/call"], rows))

    detectors = section["detectors"]
    if detectors:
        out += ["", "Per language (single words / word pairs / sentences):", ""]
        names = list(detectors)
        rows = []
        for lang in section["languages"]:
            row = [lang]
            for name in names:
                kinds = detectors[name]["kinds"]
                row.append(
                    " / ".join(
                        f"{100 * kinds[k]['per_language'].get(lang, 0):.0f}" if k in kinds else "-"
                        for k in KINDS
                    )
                )
            rows.append(row)
        out.append(_table(["lang", *names], rows))

    for key, title in (
        ("mixed_documents", "Mixed documents (paragraphs in two languages)"),
        ("boilerplate_line", "Body in one language + one short line in another"),
    ):
        block = section.get(key, {})
        if block.get("detectors"):
            out += ["", f"{title}, {block['documents']} documents:", ""]
            out.append(
                _table(
                    ["detector", "paragraph acc.", "document acc.", "ms/document"],
                    [
                        [
                            name,
                            _pct(r["paragraph_accuracy"]),
                            _pct(r["document_accuracy"]),
                            f"{r['ms_per_document']:.1f}",
                        ]
                        for name, r in block["detectors"].items()
                    ],
                )
            )
    det = section.get("determinism") or {}
    if det:
        out += [
            "",
            f"Determinism, {det['texts']} texts in two processes, identical code and "
            f"confidence: langdetect {_pct(det.get('langdetect'))}, "
            f"newsflow {_pct(det.get('newsflow'))}",
        ]
    memory = section.get("memory") or {}
    if memory:
        out += [
            "",
            f"Language stage memory: peak RSS {memory['peak_rss_mb']:.0f} MB in a fresh process "
            f"after {memory['texts']} texts, one per language and kind (every model loaded)",
        ]
    return "\n".join(out)


def render_news_langid(section: dict[str, Any]) -> str:
    if "skipped" in section:
        return f"News language identification skipped: {section['skipped']}"
    detectors = section["detectors"]
    named = set(section["named"])
    out = [
        f"## Language of news articles (news-langid/dev.jsonl, {section['articles']} articles, "
        f"{len(section['languages'])} languages; named by Newsflow: {', '.join(section['named'])})",
        "",
        "Per language, right / und / wrong (%):",
        "",
    ]
    rows = []
    for lang in section["languages"]:
        row = [lang + ("" if lang in named else " (other)")]
        for scores in detectors.values():
            c = scores["per_language"].get(lang, {})
            row.append(" / ".join(f"{100 * c.get(k, 0):.0f}" for k in ("right", "und", "wrong")))
        rows.append(row)
    out.append(_table(["lang", *detectors], rows))
    out += [
        "",
        _table(
            ["detector", "named: mean right", "others: und or right", "ms/article"],
            [
                [
                    name,
                    _pct(s["named_mean_right"]),
                    _pct(s["others_und_or_right"]),
                    f"{s['ms_per_article']:.1f}",
                ]
                for name, s in detectors.items()
            ],
        ),
    ]
    return "\n".join(out)


def render_ner(section: dict[str, Any]) -> str:
    out = ["## Named entities (exact span and label)", ""]
    for name, entry in section.items():
        detection = entry.get("language_detection", {})
        out.append(
            f"### {name}: {entry['documents']} documents, {entry['words']} words, "
            f"{entry['gold_entities']} gold entities; labels {', '.join(entry['labels'])}; "
            f"Newsflow document language correct {_pct(detection.get('accuracy'))} "
            f"({detection.get('ms_per_article', '-')} ms/article)"
        )
        out.append("")
        if "skipped" in entry:
            out.append(f"Entities skipped: {entry['skipped']}")
            out.append("")
            continue
        rows = []
        for system, result in entry["systems"].items():
            micro = result["micro"]
            per_label = result["per_label"]
            rows.append(
                [
                    system,
                    f"{micro['precision']:.3f}",
                    f"{micro['recall']:.3f}",
                    f"{micro['f1']:.3f}",
                    *[f"{per_label[label]['f1']:.3f}" for label in entry["labels"]],
                    str(result["words_per_second"]),
                ]
            )
        out.append(
            _table(
                [
                    "system",
                    "P",
                    "R",
                    "F1",
                    *[f"F1 {label}" for label in entry["labels"]],
                    "words/s",
                ],
                rows,
            )
        )
        out.append("")
    return "\n".join(out)


NER_LABELS = ("PER", "LOC", "ORG", "MISC")


def _domain_group(domain: str) -> str:
    lowered = domain.lower()
    if lowered == "news":
        return "news"
    if lowered == "wikipedia":
        return "Wikipedia"
    return "mixed or other domains"


def render_ner_languages(section: dict[str, Any]) -> str:
    """One table per domain group (news, Wikipedia, other): a row per dev set and system; then
    the rule gains (rule x language, F1 points)."""
    out = ["## Named entities per language (NER dev sets, exact span and label)", ""]
    groups: dict[str, list[list[str]]] = {}
    notes: list[str] = []
    for name, entry in section.get("dev_sets", {}).items():
        if entry.get("note"):
            notes.append(f"- {name}: {entry['note']}")
        rows = groups.setdefault(_domain_group(entry["domain"]), [])
        for system, result in entry["systems"].items():
            per_label = result["per_label"]
            rows.append(
                [
                    name,
                    system,
                    str(entry["documents"]),
                    str(entry["gold_entities"]),
                    f"{result['micro']['p']:.3f}",
                    f"{result['micro']['r']:.3f}",
                    f"{result['micro']['f1']:.3f}",
                    f"{result['micro_core']['f1']:.3f}",
                    *[
                        f"{per_label[label]['f1']:.3f}" if label in per_label else "-"
                        for label in NER_LABELS
                    ],
                    str(result.get("words_per_second") or "-"),
                ]
            )
    header = [
        "dev set",
        "system",
        "docs",
        "gold",
        "P",
        "R",
        "F1",
        "F1 core",
        *[f"F1 {label}" for label in NER_LABELS],
        "words/s",
    ]
    for group in ("news", "Wikipedia", "mixed or other domains"):
        if group in groups:
            out += [f"### {group}", "", _table(header, groups[group]), ""]
    out.append(
        "F1: micro over the labels the source annotates (MISC shown as '-' where it has none); "
        "F1 core: micro over PER/LOC/ORG."
    )
    if notes:
        out += ["", *notes]
    gains = section.get("rule_gains", {})
    if gains:
        languages = list(gains)
        rules = list(next(iter(gains.values()))["gain"])
        rows = [
            ["all rules (F1)", *[f"{gains[lang]['all_rules']:.3f}" for lang in languages]],
            ["no rules (F1)", *[f"{gains[lang]['no_rules']:.3f}" for lang in languages]],
        ]
        for rule in rules:
            rows.append(
                [rule, *[f"{100 * gains[lang]['gain'].get(rule, 0.0):+.2f}" for lang in languages]]
            )
        docs = ", ".join(f"{lang} {gains[lang]['documents']}" for lang in languages)
        out += [
            "",
            "### Rule gains: newsflow micro F1 with all rules minus F1 with the rule off "
            f"(points; positive = the rule helps). Documents: {docs}",
            "",
            _table(["rule", *languages], rows),
        ]
    skipped = section.get("skipped", {})
    if skipped:
        out += ["", "Skipped:", *[f"- {what}: {why}" for what, why in skipped.items()]]
    return "\n".join(out)


def render(results: dict[str, Any]) -> str:
    parts = []
    if "langid" in results:
        parts.append(render_langid(results["langid"]))
    if "news_langid" in results:
        parts.append(render_news_langid(results["news_langid"]))
    if "ner" in results:
        parts.append(render_ner(results["ner"]))
    if "ner_languages" in results:
        parts.append(render_ner_languages(results["ner_languages"]))
    meta = results.get("meta", {})
    parts.append(f"Data: {meta.get('data')}; wall time {meta.get('wall_seconds')} s")
    return "\n\n".join(parts)
