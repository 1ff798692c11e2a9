"""Every error the API answers, as RFC 9457 problem+json with a stable `code`.

Problem (status, code, title, detail)      raised by services and endpoints
DomainError (code, capability)             raised by the pure domain; its kind maps to
                                           a status here (DOMAIN_STATUS)
RequestValidationError                     -> 422 validation_failed / 400 malformed_json
Starlette HTTPException (404/405 routing)  -> not_found / method_not_allowed
anything else                              -> 500 internal_error

Every problem carries the request's `request_id` (see request_ids.py).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .domain import Conflict, DomainError, Forbidden, Invalid, NotFound
from .request_ids import REQUEST_ID_HEADER, current_request_id

__all__ = [
    "DOMAIN_STATUS",
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "ProblemCode",
    "ProblemDetails",
    "install_problem_handlers",
    "install_problem_openapi",
    "problem_response",
    "problem_responses",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("callpad")


class ProblemCode(StrEnum):
    """The stable machine-readable codes; `type` is `urn:callpad:problem:<code>`."""

    MALFORMED_JSON = "malformed_json"
    VALIDATION_FAILED = "validation_failed"
    BODY_TOO_LARGE = "body_too_large"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"
    FORBIDDEN = "forbidden"
    CAPABILITY_MISSING = "capability_missing"
    TARGET_NOT_ALLOWED = "target_not_allowed"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    VENDOR_NOT_FOUND = "vendor_not_found"
    SESSION_NOT_FOUND = "session_not_found"
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    RECORDING_NOT_FOUND = "recording_not_found"
    CONTACT_NOT_FOUND = "contact_not_found"
    TEAM_NOT_FOUND = "team_not_found"
    MEMBER_NOT_FOUND = "member_not_found"
    INVALID_TARGET = "invalid_target"
    INVALID_PHONE = "invalid_phone"
    INVALID_NAME = "invalid_name"
    NO_INVITEES = "no_invitees"
    VENDOR_EXISTS = "vendor_exists"
    SESSION_ENDED = "session_ended"
    INVITE_NOT_PENDING = "invite_not_pending"
    INVALID_STATE = "invalid_state"
    ALREADY_PARTICIPANT = "already_participant"
    VERSION_MISMATCH = "version_mismatch"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INTERNAL_ERROR = "internal_error"
    NOT_READY = "not_ready"
    MEDIA_UNAVAILABLE = "media_unavailable"
    WEBHOOK_REJECTED = "webhook_rejected"


# The status of each kind of refusal the domain raises.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ProblemDetails(BaseModel):
    """An RFC 9457 problem. Extension members (`capability`, `errors`, `session`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:callpad:problem:session_ended"])
    title: str
    status: int
    detail: str
    code: ProblemCode
    capability: str | None = Field(default=None, description="The missing capability, if any.")
    request_id: str | None = Field(
        default=None,
        description="The request's id, as in the X-Request-Id header; quote it when reporting.",
    )


class Problem(Exception):
    """Raise to answer with a problem."""

    def __init__(self, status: int, code: ProblemCode, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int, code: ProblemCode | str, detail: str, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:callpad:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": str(code),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    request_id = current_request_id()
    if request_id is not None:
        # Also set here: a 500 is answered outside the middleware that sets the header.
        body["request_id"] = request_id
        headers[REQUEST_ID_HEADER] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the problems an operation may answer (401, 422 and 500 are
    added to every operation by `install_problem_openapi`)."""
    return {
        status: {
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
        }
        for status in sorted(statuses)
    }


def install_problem_openapi(app: FastAPI) -> None:
    """Document every error as problem+json: FastAPI's validation schema is replaced, and
    each operation lists 401, 422 and 500 besides its own problems."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        components["ProblemDetails"] = ProblemDetails.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(components["ProblemDetails"].pop("$defs", {}))
        _exact_integer_bounds(schema)
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                common = [500] if not path.startswith("/api/v1") else [401, 422, 500]
                if "requestBody" in operation:
                    common.append(400)  # malformed_json: the body could not be parsed
                for status in common:
                    responses.setdefault(str(status), {})
                for status, response in responses.items():
                    if int(status) >= 400:
                        response["description"] = _TITLES.get(int(status), "Error")
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _exact_integer_bounds(node: Any) -> None:
    """FastAPI's OpenAPI model holds bounds as floats, and 2^63 - 1 (the largest user id)
    comes out as 9.223372036854776e18, which is 2^63: put integer bounds back as integers."""
    from .inputs import MAX_BIGINT

    if isinstance(node, list):
        for item in node:
            _exact_integer_bounds(item)
    elif isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if isinstance(node.get(key), float):
                    node[key] = min(int(node[key]), MAX_BIGINT)
        for value in node.values():
            _exact_integer_bounds(value)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, **exc.extra)

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        status = DOMAIN_STATUS[type(exc)]
        return problem_response(status, exc.code, exc.detail, capability=exc.capability)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                400, ProblemCode.MALFORMED_JSON, "The body is not valid JSON.", errors=errors
            )
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(part) for part in first["loc"])
        return problem_response(
            422,
            ProblemCode.VALIDATION_FAILED,
            f"{where}: {first['msg']}" if where else str(first["msg"]),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's own body parsing failed before validation: nesting too deep for
            # the parser, bytes that are not UTF-8.
            return problem_response(400, ProblemCode.MALFORMED_JSON, "The body is not valid JSON.")
        code = {
            404: ProblemCode.NOT_FOUND,
            405: ProblemCode.METHOD_NOT_ALLOWED,
            413: ProblemCode.BODY_TOO_LARGE,
            401: ProblemCode.UNAUTHORIZED,
        }.get(exc.status_code, ProblemCode.INTERNAL_ERROR)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = problem_response(exc.status_code, code, detail)
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed_methods(app, request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error request_id=%s", current_request_id(), exc_info=exc)
        return problem_response(500, ProblemCode.INTERNAL_ERROR, "An unexpected error occurred.")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first
    matching route's, and each operation here is its own route)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in app.router.routes
        )
    ]
