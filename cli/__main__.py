"""`python -m cli` runs the `newsflow` command (handy in a checkout)."""

from cli.main import app

app(prog_name="newsflow")
