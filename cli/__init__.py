"""`newsflow`: the command line of a Newsflow deployment.

It only talks HTTP to the gateway (httpx), so installing it (`pip install .`) brings no
server and no NLP code. The Typer app is cli.main:app.
"""
