"""Language stage: deterministic paragraph and document language detection."""
