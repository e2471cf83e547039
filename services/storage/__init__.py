"""Storage stage: the only writer to PostgreSQL (repository.py), plus schema migrations."""
