"""The device list: an account's sessions (one per sign-in), and signing them out one by one or all at once."""

from __future__ import annotations

from flask import Blueprint

from movies_auth.domain import sessions, tokens
from movies_auth.domain.errors import NotFound
from movies_auth.models import User
from movies_auth.web.guards import callers_session, owner_required
from movies_auth.web.openapi import responds
from movies_auth.web.schemas import SessionSchema
from movies_auth.web.views.users import user_api_services

bp = Blueprint("sessions", __name__, url_prefix="/auth/api/v1/users")


@bp.get("/<user_id>/sessions")
@owner_required(services=user_api_services)
@responds(200, SessionSchema, many=True)
def list_sessions(user: User) -> list[sessions.SessionView]:
    """The account's live sessions (its signed-in devices), most recently used first; `current` is the caller's."""
    return sessions.live(user.id, current_session=callers_session(user.id))


@bp.delete("/<user_id>/sessions/<session_id>")
@owner_required(services=user_api_services)
@responds(204)
def end_session(user: User, session_id: str) -> None:
    """Sign one session out: its access and refresh tokens die at once."""
    if not sessions.end_session(user.id, session_id):
        raise NotFound("Session not found")


@bp.delete("/<user_id>/sessions")
@owner_required(services=user_api_services)
@responds(204)
def end_other_sessions(user: User) -> None:
    """Sign out other devices: every session of the account but the caller's own dies."""
    tokens.end_every_session(user.id, except_session=callers_session(user.id))
