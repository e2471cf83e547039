"""NER training: `python -m models.ner.train LANG` (or `make train-ner LANG=de`)."""
