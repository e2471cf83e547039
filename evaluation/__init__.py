"""`make eval`: score Newsflow's language and entity code on labelled data.

The harness calls the same pure functions the workers call
(services.language.detect.detect_language, services.entities.extract.extract_entities)
and prints tables; the figures also go to a JSON file. Data is read from a
directory (default ../shared/eval, or $NEWSFLOW_EVAL_DATA) and never copied.
"""
