"""Checks made before a run loads anything: settings that parse, and an API that answers as
the 42 intranet does, for the configured cursus.

Without them a wrong setting costs minutes and hides its cause: a base URL on a closed port
is retried on every resource (minutes of backoff each), a base URL that serves a web page
fails every resource with a JSON error, and a cursus id the API does not know answers 404 on
the cursus's endpoints while the others load. Here each stops the run in seconds with the
setting to fix named (exit code 2), before any table is touched.

The check costs one API call beyond the run's token: ``GET /v2/cursus/<cursus_id>``, the
cheapest request that proves both the intra's JSON and the cursus.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import orjson
import requests

from pipelines.intra.api import IntraApi

# How long the reachability probe waits for a TCP connection.
CONNECT_TIMEOUT = 10


class ConfigError(Exception):
    """A setting is wrong: the message names it and says how to set it."""


class ApiUnreachable(Exception):
    """The API's host did not answer in time: a network problem, not necessarily a setting."""


def setting_help(key: str) -> str:
    return f"sources.intra.{key} in .dlt/config.toml, or SOURCES__INTRA__{key.upper()}"


def parse_cursus_id(value: object) -> int:
    """The configured cursus id as a positive integer."""
    try:
        cursus_id = int(str(value).strip())
    except ValueError:
        cursus_id = 0
    if cursus_id <= 0:
        raise ConfigError(
            f"cursus id {value!r} is not a positive integer (42cursus is 21): "
            f"set {setting_help('cursus_id')}"
        )
    return cursus_id


def parse_base_url(value: object) -> str:
    """The API root: an http(s) URL with a host, without a trailing slash."""
    url = str(value).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"base URL {value!r} is not an http(s) URL (the real API is "
            f"https://api.intra.42.fr): set {setting_help('base_url')}"
        )
    return url


def check_reachable(base_url: str) -> None:
    """A TCP connection to the API's host: refused or unknown host is a setting to fix."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT).close()
    except TimeoutError as error:
        raise ApiUnreachable(
            f"the API at {base_url} did not accept a connection within {CONNECT_TIMEOUT} s "
            f"({setting_help('base_url')}); nothing was loaded, the next run retries"
        ) from error
    except OSError as error:  # refused, unknown host, no route
        raise ConfigError(
            f"cannot reach the API at {base_url} ({error.strerror or error}): check "
            f"{setting_help('base_url')}"
        ) from error


def not_the_api(base_url: str, what: str, response: requests.Response) -> ConfigError:
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    return ConfigError(
        f"{base_url} does not answer like the 42 API: {what} gave HTTP {response.status_code} "
        f"({kind}), not the API's JSON. Check {setting_help('base_url')}"
    )


def json_of(response: requests.Response) -> object:
    if "json" not in response.headers.get("Content-Type", ""):
        raise ValueError("not JSON")
    return orjson.loads(response.content)


def check_api(api: IntraApi, cursus_id: int) -> None:
    """Token, then the configured cursus: raises ``ConfigError`` naming what to fix.

    A refused client id or secret raises the auth module's ``InvalidCredentials``."""
    check_reachable(api.base_url)
    try:
        api.obtain_token()
    except (requests.HTTPError, ValueError, KeyError) as error:
        response = getattr(error, "response", None)
        if response is None:
            raise ConfigError(
                f"{api.base_url} does not answer like the 42 API: its token endpoint "
                f"returned no token ({type(error).__name__}). Check {setting_help('base_url')}"
            ) from error
        raise not_the_api(api.base_url, "POST /oauth/token", response) from error
    response = api.client.get(f"cursus/{cursus_id}")
    what = f"GET /v2/cursus/{cursus_id}"
    try:
        cursus = json_of(response)
    except ValueError as error:
        raise not_the_api(api.base_url, what, response) from error
    if response.status_code == 404:
        raise ConfigError(
            f"the API has no cursus {cursus_id} ({what} gave 404): set "
            f"{setting_help('cursus_id')} to an existing cursus (42cursus is 21)"
        )
    response.raise_for_status()  # 5xx after the retries: the API is down, not misconfigured
    if not isinstance(cursus, dict) or cursus.get("id") != cursus_id:
        raise not_the_api(api.base_url, what, response)
