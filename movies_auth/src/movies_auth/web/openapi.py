"""Request/response schemas bound to views, and the OpenAPI spec built from those same bindings.

A view declares its body or query schema with `@accepts` and its answer with `@responds`; the
decorators both validate/serialize at run time and record what they did, and `build_spec` turns
the records into the OpenAPI document that flasgger serves. One schema, one truth.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Literal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, request
from marshmallow import EXCLUDE, Schema
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.sansio.request import Request as SansIORequest

from movies_auth import __version__
from movies_auth.domain.errors import BadRequest
from movies_auth.models import CODE_NAME, CODE_NAME_MAX_LENGTH, SESSION_ID_PATTERN
from movies_auth.web.schemas import ErrorSchema, ValidationErrorSchema
from movies_auth.web.view_typing import P, R, SameSignature

APIDOC_ATTR = "__apidoc__"
TokenKind = Literal["access", "refresh", "any"]

_TOKEN_DESCRIPTIONS = {
    "access": "an access token",
    "refresh": "a refresh token",
    "any": "an access or a refresh token of the session",
}
_PATH_PARAMETERS = {
    "user_id": {"type": "string", "format": "uuid"},
    "session_id": {"type": "string", "pattern": SESSION_ID_PATTERN},
}
# Every other path parameter names a role or a permission.
_CODE_NAME_PARAMETER = {"type": "string", "pattern": CODE_NAME.pattern, "maxLength": CODE_NAME_MAX_LENGTH}
_RULE_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _apidoc(view: Callable) -> dict[str, Any]:
    return view.__dict__.setdefault(APIDOC_ATTR, {"responses": {}, "errors": set()})


def accepts(schema: type[Schema], location: Literal["json", "query"] = "json") -> Callable:
    """Validate the JSON body (or query string) with `schema` and pass the result as `data`."""
    load = _request_query_loader(schema) if location == "query" else _body_loader(schema)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view(*args, data=load(), **kwargs)

        doc = _apidoc(wrapper)
        doc[location] = schema
        doc["errors"].add(400)
        return wrapper

    return decorator


@functools.cache
def query_loader(schema: type[Schema]) -> Callable[[bytes], dict[str, Any]]:
    """The function validating a raw query string with `schema`, one per schema; it raises `ValidationError`."""
    loader = schema(unknown=EXCLUDE)

    # Other services send the same few permission checks over and over: each query string is
    # validated once (a failing one every time: errors are not kept).
    @functools.lru_cache(maxsize=1024)
    def load(query_string: bytes) -> dict[str, Any]:
        return loader.load(_query_arguments(query_string).to_dict())

    return lambda query_string: dict(load(query_string))


def _request_query_loader(schema: type[Schema]) -> Callable[[], dict[str, Any]]:
    load = query_loader(schema)
    return lambda: load(request.query_string)


def _query_arguments(query_string: bytes) -> MultiDict[str, str]:
    """The arguments of a query string, parsed exactly as werkzeug parses `request.args`."""
    return SansIORequest("GET", "http", None, "", "/", query_string, Headers(), None).args


def _body_loader(schema: type[Schema]) -> Callable[[], Any]:
    loader = schema()
    return lambda: loader.load(_read_json_body())


def _read_json_body() -> Any:
    if not request.is_json:
        raise BadRequest("Request body must be JSON (Content-Type: application/json)")
    try:
        return json.loads(request.get_data(), object_pairs_hook=_object_without_duplicate_keys)
    except RecursionError as error:
        raise BadRequest("Request body is nested too deeply") from error
    except DuplicateKey as error:
        raise BadRequest(f"Request body names {error.key!r} more than once") from error
    except ValueError as error:  # not JSON, or not UTF-8
        raise BadRequest("Request body is not valid JSON") from error


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Which of two values a parser keeps differs between parsers (and so between a proxy and us).
    body: dict[str, Any] = {}
    for key, value in pairs:
        if key in body:
            raise DuplicateKey(key)
        body[key] = value
    return body


def responds(
    status: int,
    schema: type[Schema] | None = None,
    *,
    errors: Iterable[int] = (),
    also: Iterable[int] | Mapping[int, type[Schema]] = (),
    many: bool = False,
) -> Callable:
    """Serialize the view's result with `schema` and answer `status`; list the errors it may give.

    A view with statuses in `also` returns `(result, status)`; each is answered with the same schema, or
    with its own when `also` maps statuses to schemas.
    """
    schemas = {status: schema} | (dict(also) if isinstance(also, Mapping) else dict.fromkeys(also, schema))
    dumpers = {code: answer(many=many) if answer else None for code, answer in schemas.items()}
    alternatives = len(schemas) > 1

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result, answer_status = view(*args, **kwargs), status
            if isinstance(result, Response):  # a redirect, made by the view itself
                return result
            if alternatives:
                result, answer_status = result
            dumper = dumpers[answer_status]
            if dumper is None:
                return _no_content(answer_status)
            return dumper.dump(result), answer_status

        doc = _apidoc(wrapper)
        for documented, answer in schemas.items():
            doc["responses"][documented] = (answer, many)
        doc["errors"].update(errors)
        return wrapper

    return decorator


def _no_content(status: int) -> Response:
    """An answer with no body, and so (RFC 9110) no Content-Type either."""
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response


def may_fail_with(*statuses: int) -> SameSignature:
    """Document error statuses a view may answer with (raised by its guards or services)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        _apidoc(view)["errors"].update(statuses)
        return view

    return decorator


def requires_token(kind: TokenKind = "access", *, services: bool = False) -> SameSignature:
    """Document that the view needs a bearer token of `kind`, or a service token when `services` may call it."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        doc = _apidoc(view)
        doc["token"] = kind
        doc["service_token"] = services
        doc["errors"].update({401, 403, 422} if services or kind != "refresh" else {401, 422})
        return view

    return decorator


def documents_header(name: str, description: str) -> SameSignature:
    """Document an optional request header the view reads."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        _apidoc(view).setdefault("headers", {})[name] = description
        return view

    return decorator


def documents_access(note: str) -> SameSignature:
    """Document who may call the view (the check itself is the guard's)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        _apidoc(view)["access"] = note
        return view

    return decorator


ErrorExamples = dict[str, dict[int, dict[str, Any]]]


def build_spec(
    app: Flask, *, title: str, description: str, tags: dict[str, str], error_examples: ErrorExamples
) -> dict[str, Any]:
    """The OpenAPI 3 document of every documented view of `app`.

    `error_examples` gives each error status its example body: under an operation id, else under the
    operation's tag, else under `"*"`.
    """
    spec = APISpec(
        title=title,
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": description},
        tags=[{"name": name, "description": text} for name, text in tags.items()],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("ValidationError", schema=ValidationErrorSchema)

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        doc = app.view_functions[rule.endpoint].__dict__.get(APIDOC_ATTR)
        if doc is None:
            continue
        view = app.view_functions[rule.endpoint]
        operations = {
            method.lower(): _operation(view, doc, rule.endpoint, rule.arguments, error_examples)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        }
        spec.path(path=_RULE_ARGUMENT.sub(r"{\1}", rule.rule), operations=operations)
    return spec.to_dict()


def _operation(
    view: Callable, doc: dict[str, Any], endpoint: str, arguments: Iterable[str], error_examples: ErrorExamples
) -> dict[str, Any]:
    summary, _, details = (view.__doc__ or endpoint).strip().partition("\n")
    operation_id, tag = endpoint.replace(".", "_"), endpoint.split(".")[0]
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary.rstrip("."),
        "tags": [tag],
        "responses": {},
    }
    parameters = [
        {"in": "path", "name": name, "required": True, "schema": _PATH_PARAMETERS.get(name, _CODE_NAME_PARAMETER)}
        for name in sorted(arguments)
    ]
    if "query" in doc:
        parameters.append({"in": "query", "schema": doc["query"]})
    for name, text in doc.get("headers", {}).items():
        parameters.append(
            {"in": "header", "name": name, "required": False, "description": text, "schema": {"type": "string"}}
        )
    if parameters:
        operation["parameters"] = parameters
    if "json" in doc:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc["json"]}}}
    description = [" ".join(details.split())] if details.strip() else []
    if "token" in doc:
        operation["security"] = [{"bearerAuth": []}]
        token = _TOKEN_DESCRIPTIONS[doc["token"]] + (" or a service token" if doc["service_token"] else "")
        description.append(f"Send {token} as `Authorization: Bearer <token>`.")
    if "access" in doc:
        description.append(doc["access"])
    if description:
        operation["description"] = "\n\n".join(description)
    for status, (schema, many) in doc["responses"].items():
        response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if schema is not None:
            content_schema = {"type": "array", "items": schema} if many else schema
            response["content"] = {"application/json": {"schema": content_schema}}
        operation["responses"][str(status)] = response
    for status in sorted((doc["errors"] | {500}) - doc["responses"].keys()):
        component = "ValidationError" if status == 400 else "Error"
        example = next(
            examples[status]
            for examples in (error_examples.get(operation_id, {}), error_examples.get(tag, {}), error_examples["*"])
            if status in examples
        )
        operation["responses"][str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}, "example": example}
            },
        }
    return operation
