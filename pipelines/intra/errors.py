"""What the API's refusals mean, in words an operator can act on.

The API answers a request whose ``filter``/``range``/``sort`` it does not accept with 400 (or
422) and a JSON body ``{"error": "Filter Error", "message": "Attributes campus doesn't
exists ..."}``. Such a refusal is not transient: retrying cannot help, and the resource must
fail with the parameter and the API's own words, so that whoever reads the run's report
knows which request to change.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import orjson
import requests

QUERY_PARAMS = ("filter[", "range[", "sort")


def param_field(key: str, value: str) -> str:
    """``filter[campus]`` -> ``campus``; for ``sort`` the fields are in the value."""
    return key[key.index("[") + 1 : -1] if "[" in key else value


def describe_refusal(error: requests.HTTPError) -> str | None:
    """``"the API refused filter[campus] (400 Filter Error: ...)"``, or None when ``error``
    is not a refusal of the request's parameters (another status, no request)."""
    response = error.response
    if response is None or response.status_code not in (400, 422) or response.request is None:
        return None
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    body = body if isinstance(body, dict) else {}
    kind = str(body.get("error") or response.reason or "refused")
    message = str(body.get("message") or "").strip()
    query = parse_qsl(urlsplit(response.request.url).query, keep_blank_values=True)
    params = [(k, v) for k, v in query if k.startswith(QUERY_PARAMS)]
    # "Filter Error" is about the filter[...] parameters, and so on
    of_kind = [(k, v) for k, v in params if k.startswith(kind.split()[0].lower())] or params
    named = [k for k, v in of_kind if message and param_field(k, v).lstrip("-") in message]
    listed = ", ".join(named or [k for k, _ in of_kind]) or "the request"
    detail = f"{response.status_code} {kind}" + (f": {message}" if message else "")
    return f"the API refused {listed} ({detail[:300]})"
