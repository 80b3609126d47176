"""OAuth2 client credentials for the 42 API, on top of dlt's ``OAuth2ClientCredentials``.

dlt's class obtains a token and renews it when its own clock says it expired. The 42 API
(Doorkeeper) needs three more things, added here:

- **Token reuse.** Asking for a token while one is alive returns *the same* token with its
  remaining ``expires_in``. So we renew ``REFRESH_MARGIN`` seconds early, and if the server
  hands back the token we already hold, we keep it until it really expires.
- **Re-auth on a 401 mid-run.** A token can be revoked, or expire by the server's clock
  before ours. Any 401 on an API call makes us fetch a new token and resend that request, up
  to ``MAX_REAUTHS`` times (a token that expires and then its successor revoked, on the same
  request, is rare but real). We do not wait for ``WWW-Authenticate: ... invalid_token``:
  not every 401 carries that header, and a 401 is a token problem whatever it says.
- **A clear error for bad credentials.** ``invalid_client`` (wrong or expired secret) stops
  the run with a message naming the settings to fix, and so do 401s that outlast
  ``MAX_REAUTHS`` fresh tokens (the API does not accept this application's tokens); the
  secret itself is never printed.
- **A warning before the secret expires.** The token response says when the application's
  secret expires (``secret_valid_until``); once it has, every run stops until someone rotates
  it on the intra. Within ``SECRET_WARNING_DAYS`` of that date the run prints one warning
  line, on the ``intra.progress`` logger whose warnings the run prints.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from dlt.common.configuration import configspec
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from requests import PreparedRequest, Response

REFRESH_MARGIN = 60
# Fresh tokens one request may ask for after 401s before the 401 is taken as final.
MAX_REAUTHS = 3
# A secret expiring within this many days is announced: time enough to rotate it.
SECRET_WARNING_DAYS = 14

log = logging.getLogger("intra.progress")


class InvalidCredentials(Exception):
    """The token endpoint refused the client id/secret."""


CREDENTIALS_HELP = (
    "Set sources.intra.client_id and sources.intra.client_secret in .dlt/secrets.toml, or the "
    "environment variables SOURCES__INTRA__CLIENT_ID and SOURCES__INTRA__CLIENT_SECRET. "
    "Application secrets expire: check the application's page on the intra and rotate it."
)


def secret_expiry_warning(valid_until: datetime | None, now: datetime) -> str | None:
    """The warning for a secret that expires soon, or None: an expired secret stops every
    run, and rotating it takes a person, so they must hear of it in advance."""
    if valid_until is None or valid_until - now > timedelta(days=SECRET_WARNING_DAYS):
        return None
    days = max(0, math.ceil((valid_until - now) / timedelta(days=1)))
    return (
        f"credentials: the application's secret expires on {valid_until:%Y-%m-%d %H:%M} UTC "
        f"(in {'1 day' if days == 1 else f'{days} days'}); after that every run stops with "
        f"exit 2 until it is rotated. {CREDENTIALS_HELP}"
    )


@configspec
class IntraOAuth2(OAuth2ClientCredentials):
    """Client credentials with early refresh, token-reuse awareness and re-auth on 401."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.Lock()
        self._expires_at = 0.0  # time.monotonic() deadline for the current token
        self.secret_valid_until: datetime | None = None

    def is_token_expired(self) -> bool:
        return time.monotonic() >= self._expires_at

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        with self._lock:
            if self.access_token is None or self.is_token_expired():
                self.obtain_token()
            token = self.access_token
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._reauth)
        return request

    def obtain_token(self) -> None:
        response = self.session.post(self.access_token_url, **self.build_access_token_request())
        if response.status_code in (400, 401) and "invalid_client" in response.text:
            raise InvalidCredentials(
                f"The 42 API at {self.access_token_url} refused the client credentials "
                f"({response.status_code} invalid_client). {CREDENTIALS_HELP}"
            )
        response.raise_for_status()
        payload = response.json()
        token = str(payload["access_token"])
        expires_in = payload.get("expires_in")  # 0 is a real answer: a reused token dying now
        expires_in = int(self.default_token_expiration if expires_in is None else expires_in)
        now = time.monotonic()
        if token == self.access_token:
            # The server reused our token: no new one exists before this one dies.
            self._expires_at = now + expires_in + 1
        else:
            self._expires_at = now + max(expires_in - REFRESH_MARGIN, expires_in / 2)
        self.access_token = token
        until = payload.get("secret_valid_until")
        valid_until = datetime.fromtimestamp(until, UTC) if until else None
        if valid_until != self.secret_valid_until:  # once, not at every token
            self.secret_valid_until = valid_until
            warning = secret_expiry_warning(valid_until, datetime.now(UTC))
            if warning:
                log.warning(warning)

    def _reauth(self, response: Response, **kwargs) -> Response:
        """Response hook: on a 401, get a fresh token and resend the request.

        The resend goes straight to the adapter (hooks do not run again), so the retries
        loop here. A 401 that outlasts ``MAX_REAUTHS`` fresh tokens stops the run."""
        for _ in range(MAX_REAUTHS):
            if response.status_code != 401:
                return response
            failed = (response.request.headers.get("Authorization") or "")[len("Bearer ") :]
            with self._lock:
                if failed == self.access_token:  # nobody has replaced it yet
                    self._expires_at = 0.0
                    self.obtain_token()
                token = self.access_token
            retry = response.request.copy()
            retry.headers["Authorization"] = f"Bearer {token}"
            response.close()
            resent = response.connection.send(retry, **kwargs)
            resent.history = [*response.history, response]
            response = resent
        if response.status_code == 401:
            path = urlsplit(response.request.url).path
            raise InvalidCredentials(
                f"The 42 API answered 401 on {path} with {MAX_REAUTHS} fresh access tokens in "
                f"a row: it does not accept this application's tokens. {CREDENTIALS_HELP}"
            )
        return response
