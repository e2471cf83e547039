"""One router per resource: articles, entities, metrics (health and redrive live beside them)."""
