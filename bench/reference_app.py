"""The in-run baseline: a Flask app answering constant JSON, served with movies_auth's own gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/reference")
def reference() -> dict:
    """What an endpoint costs when it does nothing: Flask, gunicorn and the network alone."""
    return {"msg": "Token is valid"}
