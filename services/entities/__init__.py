"""Entities stage: spaCy named entities mapped to PER/ORG/LOC/MISC."""
