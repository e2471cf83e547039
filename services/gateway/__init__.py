"""HTTP gateway: accepts articles, reports their status and serves stored results (read-only)."""
