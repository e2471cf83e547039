"""Model training recipes (code only: data and trained weights stay outside the repository)."""
