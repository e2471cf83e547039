"""Child process of the determinism check: answers for a JSON list of texts, on stdout.

python -m evaluation.determinism {langdetect|newsflow} texts.json
"""

import json
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
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
