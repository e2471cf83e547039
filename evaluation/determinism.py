"""Child process of the determinism and memory checks: answers for a JSON list of
texts, on stdout, and the process's peak resident memory.

python -m evaluation.determinism {langdetect|newsflow} texts.json
"""

import json
import resource
import sys
from pathlib import Path

from evaluation.langid import newsflow_result
from shared.settings import Settings


def main() -> None:
    detector, source = sys.argv[1], Path(sys.argv[2])
    texts: list[str] = json.loads(source.read_text(encoding="utf-8"))
    answers: list[list[object]] = []
    if detector == "langdetect":
        from langdetect import detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        for text in texts:
            try:
                best = detect_langs(text)[0]
                answers.append([best.lang, round(best.prob, 4)])
            except LangDetectException:
                answers.append(["und", 0.0])
    else:
        settings = Settings()
        answers = [list(newsflow_result(text, settings)) for text in texts]
    json.dump({"answers": answers, "peak_rss_mb": peak_rss_mb()}, sys.stdout)


def peak_rss_mb() -> float:
    """This program's peak resident memory, with every model the texts touched loaded.

    VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child forked from a large
    parent (the eval, with spaCy and lingua loaded) would report the parent's size.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


if __name__ == "__main__":
    main()
