"""One router per resource: articles, entities (health and redrive live beside them)."""
