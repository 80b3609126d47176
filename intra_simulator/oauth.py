"""OAuth2 applications and access tokens, as Doorkeeper (the intra's OAuth server) does them.

- ``POST /oauth/token`` accepts the client credentials in a form body, the query string, a JSON
  body or HTTP Basic. A still-valid token is handed back again with its *remaining*
  ``expires_in`` and its original ``created_at`` (Doorkeeper's ``reuse_access_token``).
- Unknown clients, wrong secrets and expired secrets get 401 ``invalid_client``.
- Tokens expire after a configurable TTL (7,200 s on the real API) and can be revoked.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "Client authentication failed due to unknown client, no client "
    "authentication included, or unsupported authentication method.",
}
UNSUPPORTED_GRANT = {
    "error": "unsupported_grant_type",
    "error_description": "The authorization grant type is not supported by the "
    "authorization server.",
}
# WWW-Authenticate descriptions, as Doorkeeper words them.
TOKEN_PROBLEMS = {
    "expired": "The access token expired",
    "revoked": "The access token was revoked",
    "invalid": "The access token is invalid",
}


@dataclass
class App:
    """A registered API application (the unit of rate limiting)."""

    uid: str
    secret: str
    app_id: int = 1
    name: str = "intra-elt"
    roles: str = "None"
    secret_valid_until: int | None = None  # Unix seconds; None means it never expires


@dataclass
class Token:
    value: str
    app: App
    created_at: float
    expires_at: float
    scope: str = "public"
    revoked: bool = False


@dataclass
class TokenStore:
    """Issues, reuses, expires and revokes tokens. Times come from the simulator's clock."""

    ttl: int = 7200
    apps: dict[str, App] = field(default_factory=dict)
    _tokens: dict[str, Token] = field(default_factory=dict)
    _live: dict[str, Token] = field(default_factory=dict)  # app uid -> current token
    _lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0

    def add_app(self, app: App) -> None:
        self.apps[app.uid] = app

    def authenticate(self, uid: str | None, secret: str | None, now: float) -> App | None:
        app = self.apps.get(uid or "")
        if app is None or not secrets.compare_digest(app.secret, secret or ""):
            return None
        if app.secret_valid_until is not None and now >= app.secret_valid_until:
            return None
        return app

    def issue(self, app: App, now: float) -> tuple[Token, int]:
        """Return the app's live token (reused) or a new one, with the seconds it has left."""
        with self._lock:
            token = self._live.get(app.uid)
            if token is None or token.revoked or token.expires_at <= now:
                token = Token(secrets.token_hex(32), app, created_at=now, expires_at=now + self.ttl)
                self._tokens[token.value] = token
                self._live[app.uid] = token
                self.issued += 1
            return token, max(0, int(token.expires_at - now))

    def check(self, value: str | None, now: float) -> tuple[Token | None, str | None]:
        """Return ``(token, None)`` when usable, else ``(None, problem)``."""
        token = self._tokens.get(value or "")
        if token is None:
            return None, "invalid"
        if token.revoked:
            return None, "revoked"
        if token.expires_at <= now:
            return None, "expired"
        return token, None

    def app_of(self, value: str | None) -> str:
        """The uid of the app a token value was issued to ("" for an unknown value)."""
        token = self._tokens.get(value or "")
        return token.app.uid if token else ""

    def revoke_all(self, uid: str = "") -> int:
        """Revoke the live tokens (of one app, given its ``uid``); returns how many."""
        with self._lock:
            live = [
                t for t in self._live.values() if not t.revoked and (not uid or t.app.uid == uid)
            ]
            for token in live:
                token.revoked = True
            return len(live)


def client_credentials(headers, query: str, body: bytes) -> dict[str, str]:
    """Collect grant parameters from every place the real server accepts them."""
    found: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if body:
        if content_type == "application/json":
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {}
            if isinstance(payload, dict):
                found.update({k: str(v) for k, v in payload.items()})
        else:
            found.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    authorization = headers.get("Authorization") or ""
    if authorization.lower().startswith("basic "):
        try:
            uid, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            uid, secret = "", ""
        found.setdefault("client_id", uid)
        found.setdefault("client_secret", secret)
    return found
