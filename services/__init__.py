"""Newsflow services: one package per container."""
