"""The OpenAPI spec and the Swagger UI at `/api/openapi`, served with its own assets (no CDN)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from movies_async_api.schemas import PRACTICUM_ALIASES

DOCS_URL = "/api/openapi"
OPENAPI_URL = "/api/openapi.json"
ASSETS_URL = f"{DOCS_URL}/static"
SWAGGER_UI_ASSETS = files("fastapi_swagger") / "resources"


def mount_docs(app: FastAPI) -> None:
    """Serve the Swagger UI page and its assets (Swagger UI 5, which reads OpenAPI 3.1)."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(SWAGGER_UI_ASSETS)), name="swagger-ui-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True, "displayRequestDuration": True},
        )


def document_optional_auth(app: FastAPI) -> None:
    """Declare the bearer token optional in the spec: a caller without one is served as anonymous."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            for operations in build()["paths"].values():
                for operation in operations.values():
                    if operation.get("security"):
                        operation["security"] = [{}, *operation["security"]]  # `{}`: no token at all
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_query_aliases(app: FastAPI) -> None:
    """List each query parameter's Practicum alias (`page[number]` for `page_number`, ...) beside it in the spec."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            for operations in build()["paths"].values():
                for operation in operations.values():
                    if "parameters" in operation:
                        operation["parameters"] = [
                            named
                            for parameter in operation["parameters"]
                            for named in (parameter, *_aliases_of(parameter))
                        ]
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _aliases_of(parameter: dict) -> list[dict]:
    name = parameter["name"]
    if parameter["in"] != "query" or name not in PRACTICUM_ALIASES:
        return []
    described = f"The Practicum API's name for `{name}`; give one or the other."
    # No default: a client that fills in defaults (Swagger UI does) would otherwise send both names.
    schema = {key: value for key, value in parameter["schema"].items() if key != "default"}
    return [parameter | {"name": PRACTICUM_ALIASES[name], "description": described, "schema": schema}]
