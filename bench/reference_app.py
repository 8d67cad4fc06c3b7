"""The in-run baselines: constant answers served with the production gunicorn settings of each service.

`app` is a Flask app answering constant JSON (movies_auth's rows compare to it, under movies_auth's gunicorn
settings); `film_page` is a FastAPI app answering a constant 50-film page of the film list's shape (the movies
API's rows compare to it, under the movies API's gunicorn settings).
"""

import uuid
from types import SimpleNamespace

from fastapi import FastAPI
from flask import Flask

app = Flask(__name__)
# movies_auth's gunicorn.conf.py, which this app runs under, starts the mail sender that the app's settings ask for.
app.extensions["settings"] = SimpleNamespace(mail_sender_thread=False)


@app.get("/reference")
def reference() -> dict:
    """What an endpoint costs when it does nothing: Flask, gunicorn and the network alone."""
    return {"msg": "Token is valid"}


film_page = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
_PAGE = [
    {"uuid": str(uuid.UUID(int=number)), "title": f"The Constant Film {number}", "imdb_rating": 6.5}
    for number in range(50)
]


@film_page.get("/reference")
async def constant_page() -> list[dict]:
    """What a film page costs when nothing is looked up: FastAPI, uvicorn, gunicorn and the network alone."""
    return _PAGE
