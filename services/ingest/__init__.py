"""Ingest stage: normalise submitted text, strip page chrome, find title and dateline."""
