"""The HTTP server: the API's protocol on top of ``world``, plus admin routes for tests.

API routes (``/oauth/*``, ``/v2/*``) behave like api.intra.42.fr: a request without a
User-Agent gets 403; a missing, expired or revoked bearer token gets 401 with a
``WWW-Authenticate`` header (none with ``bare_401``); over-limit requests get a plain-text 429
with ``Retry-After``; unknown routes and ids get 404 ``{}``; a filter or range on an id beyond
32 bits gets Rails' 500 (unless ``int4_ids`` is off); lists are JSON arrays with pagination
headers.

Admin routes live under ``/_sim/`` (no auth, no rate limit, not counted): health, request
statistics, moving the clock (or letting the real time's activity happen: ``/_sim/happen``),
faults, limits, token revocation, record edits, and for test
oracles full dumps of a collection, the ids changed silently (``/_sim/silent``) and the log of
every change time made (``GET /_sim/changes?after=<seq>``: the entries numbered above ``after``),
and for bad input a record inserted as given (``POST /_sim/insert``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from intra_simulator.faults import FaultRule, Faults
from intra_simulator.oauth import (
    INVALID_CLIENT,
    TOKEN_PROBLEMS,
    UNSUPPORTED_GRANT,
    App,
    TokenStore,
    client_credentials,
)
from intra_simulator.query import (
    BadGateway,
    QueryError,
    beyond_int4,
    pagination_headers,
    parse_page,
)
from intra_simulator.ratelimit import RateLimiter
from intra_simulator.store import CAMPUS_LISTS, Listing, NotFound, encode
from intra_simulator.world import World

TOO_MANY = b"429 Too Many Requests (Spam Rate Limit Exceeded)"
BAD_GATEWAY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
GATEWAY_TIMEOUT = (
    b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    b"<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)
RAILS_ERROR = {"status": 500, "error": "Internal Server Error"}


@dataclass
class Stats:
    """What clients asked for: per path and status. Admin routes are not counted."""

    by_path: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str, status: int) -> None:
        with self.lock:
            per_status = self.by_path.setdefault(path, {})
            per_status[str(status)] = per_status.get(str(status), 0) + 1

    def snapshot(self) -> dict:
        with self.lock:
            paths = {p: dict(s) for p, s in self.by_path.items()}
        total = sum(sum(s.values()) for s in paths.values())
        refused = sum(s.get("429", 0) for s in paths.values())
        return {"requests": total, "refused_429": refused, "by_path": paths}

    def reset(self) -> None:
        with self.lock:
            self.by_path.clear()


@dataclass
class Simulator:
    """Everything a request handler needs."""

    world: World
    tokens: TokenStore
    limiter: RateLimiter
    faults: Faults
    scale: str = "tiny"
    stats: Stats = field(default_factory=Stats)
    # Id columns are int4 and Rails raises on a bound beyond them (a 500). On by default, as
    # on the real API; off models a Rails that treats such a bound as unbounded.
    int4_ids: bool = True
    # 401s without WWW-Authenticate. Off by default: Doorkeeper, the intra's OAuth layer, sends
    # its Bearer challenge on every 401 it produces; a bare 401 is what something else on the
    # way (a proxy, a gateway, another version) may answer, and a client must cope with both.
    bare_401: bool = False


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    truncate: bool = False
    delay: float = 0.0


def json_reply(status: int, payload: object, headers: dict | None = None) -> Reply:
    return Reply(status, encode(payload), dict(headers or {}))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    quiet = True

    def version_string(self) -> str:
        return "nginx"

    @property
    def sim(self) -> Simulator:
        return self.server.sim  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(self.sim.world.clock.time(), usegmt=True)

    # -- dispatch ---------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        body = self._read_body()
        if url.path.startswith("/_sim/"):
            reply = self._admin(method, url.path, body)
        elif url.path == "/oauth/token" and method == "POST":
            reply = self._token(url.query, body)
        elif url.path == "/oauth/token/info":
            reply = self._api(method, url, info=True)
        elif url.path.startswith("/v2/"):
            reply = self._api(method, url)
        else:
            reply = Reply(
                404, b"<html><body><h1>404 Not Found</h1></body></html>", content_type="text/html"
            )
        if not url.path.startswith("/_sim/"):
            self.sim.stats.count(url.path, reply.status)
        reply.headers.setdefault("X-Runtime", f"{time.perf_counter() - started:.6f}")
        self._send(reply, head=method == "HEAD")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply, head: bool = False) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("X-Request-Id", str(uuid.uuid4()))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        if reply.truncate:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    # -- OAuth ------------------------------------------------------------------------

    def _token(self, query: str, body: bytes) -> Reply:
        now = self.sim.world.clock.time()
        params = client_credentials(self.headers, query, body)
        if params.get("grant_type") != "client_credentials":
            return json_reply(400, UNSUPPORTED_GRANT)
        app = self.sim.tokens.authenticate(
            params.get("client_id"), params.get("client_secret"), now
        )
        if app is None:
            return json_reply(401, INVALID_CLIENT)
        decision = self.sim.limiter.admit(app.app_id, now)
        if not decision.allowed:
            return self._too_many(decision)
        token, expires_in = self.sim.tokens.issue(app, now)
        payload = {
            "access_token": token.value,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": token.scope,
            "created_at": int(token.created_at),
            "secret_valid_until": app.secret_valid_until,
        }
        return json_reply(
            200, payload, {**decision.headers, "Cache-Control": "no-store", "Pragma": "no-cache"}
        )

    def _too_many(self, decision) -> Reply:
        return Reply(
            429,
            TOO_MANY,
            {**decision.headers, "Retry-After": str(decision.retry_after)},
            content_type="text/plain; charset=utf-8",
        )

    # -- API --------------------------------------------------------------------------

    def _bearer(self, query: str) -> str | None:
        authorization = self.headers.get("Authorization") or ""
        if authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        return dict(parse_qsl(query)).get("access_token")

    def _api(self, method: str, url, info: bool = False) -> Reply:
        sim = self.sim
        if not self.headers.get("User-Agent"):
            return Reply(403, b"", content_type="text/html")
        now = sim.world.clock.time()
        bearer = self._bearer(url.query)
        revoke = sim.faults.pick(url.path, revoke=True, client=sim.tokens.app_of(bearer))
        if revoke is not None:
            sim.tokens.revoke_all(revoke.client)
        token, problem = sim.tokens.check(bearer, now)
        if token is None:
            if sim.bare_401:
                return Reply(401, b"")
            header = (
                f'Bearer realm="42 API", error="invalid_token", '
                f'error_description="{TOKEN_PROBLEMS[problem]}"'
            )
            return Reply(401, b"", {"WWW-Authenticate": header})
        app = token.app
        decision = sim.limiter.admit(app.app_id, now)
        if not decision.allowed:
            return self._too_many(decision)
        rule = sim.faults.pick(url.path, client=app.uid)
        headers = {
            **decision.headers,
            "X-Application-Id": str(app.app_id),
            "X-Application-Name": app.name,
            "X-Application-Roles": app.roles,
            "Cache-Control": "max-age=0, private, must-revalidate",
            "Vary": "Origin",
        }
        if info:
            payload = {
                "resource_owner_id": None,
                "scopes": [token.scope],
                "expires_in_seconds": max(0, int(token.expires_at - now)),
                "application": {"uid": app.uid},
                "created_at": int(token.created_at),
            }
            return json_reply(200, payload, headers)
        if rule is not None and rule.kind == "status":
            if rule.status == 502:
                return Reply(502, BAD_GATEWAY, headers, content_type="text/html")
            return json_reply(rule.status, {**RAILS_ERROR, "status": rule.status}, headers)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if sim.int4_ids and beyond_int4(params):
            return json_reply(500, RAILS_ERROR, headers)
        if rule is not None and rule.kind == "refuse" and rule.param in params:
            error = refused(rule.param)
            return json_reply(error.status, error.body, headers)
        try:
            with sim.world.store.lock:
                reply = self._resource(url, params, headers, rule)
        except NotFound:
            return json_reply(404, {}, headers)
        except QueryError as error:
            return json_reply(error.status, error.body, headers)
        except BadGateway:
            return Reply(502, BAD_GATEWAY, headers, content_type="text/html")
        if rule is not None:
            if rule.kind == "timeout":
                reply.delay = rule.delay
            elif rule.kind == "malformed":
                reply.body = reply.body[: max(1, len(reply.body) // 2)] + b'{"error":'
            elif rule.kind == "truncate":
                reply.truncate = True
        reply.headers["ETag"] = f'W/"{hashlib.md5(reply.body).hexdigest()}"'
        return reply

    def _resource(
        self, url, params: dict[str, str], headers: dict, rule: FaultRule | None
    ) -> Reply:
        world = self.sim.world
        store = world.store
        found = world.resolve(url.path)
        if callable(found):  # an object computed from the query (locations_stats)
            found = found(params)
        if not isinstance(found, Listing):
            return json_reply(200, found, headers)
        collection = found.collection
        matched = store.select(found, params)
        page = parse_page(params)
        window = page.slice(len(matched))
        if rule is not None and rule.kind in ("delete", "touch") and matched[window]:
            if rule.kind == "delete":
                # records this client was served on earlier pages disappear from the API
                first_id = matched[window][0]["id"]
                everything = store.select(
                    found, {k: v for k, v in params.items() if k != "range[id]"}
                )
                served = [r for r in everything if r["id"] < first_id] or matched[: window.start]
                for record in served[: rule.rows]:
                    store.delete(collection.name, record["id"])
            else:
                # records not served yet change now (and leave any updated_at window)
                for record in matched[window.stop : window.stop + rule.rows]:
                    store.update(collection.name, record["id"], {})
            matched = store.select(world.resolve(url.path), params)
            window = page.slice(len(matched))
        rows = matched[window]
        if rule is not None and rule.kind == "heavy" and len(rows) > rule.rows:
            return Reply(504, GATEWAY_TIMEOUT, headers, content_type="text/html", delay=rule.delay)
        if rule is not None and rule.kind == "duplicate" and rows:
            # repeat the last records of the previous page (what an unstable order does)
            everything = store.select(found, {k: v for k, v in params.items() if k != "range[id]"})
            before = [r for r in everything if r["id"] < rows[0]["id"]] or matched[: window.start]
            rows = before[-rule.rows :] + rows
        body = b"[" + b",".join(collection.encode(r) for r in rows) + b"]"
        base = f"http://{self.headers.get('Host', 'localhost')}{url.path}"
        headers.update(pagination_headers(base, params, page, len(matched)))
        return Reply(200, body, headers)

    # -- admin ------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: bytes) -> Reply:
        sim = self.sim
        store = sim.world.store
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return json_reply(400, {"error": "body is not JSON"})
        route = (method, path.rstrip("/"))
        try:
            if route == ("GET", "/_sim/health"):
                return json_reply(
                    200,
                    {
                        "ok": True,
                        "scale": sim.scale,
                        "seed": sim.world.seed,
                        "now": sim.world.clock.now().isoformat(),
                    },
                )
            if route == ("GET", "/_sim/stats"):
                stats = sim.stats.snapshot()
                stats.update(tokens_issued=sim.tokens.issued, faults=sim.faults.report())
                return json_reply(200, stats)
            if route == ("DELETE", "/_sim/stats"):
                sim.stats.reset()
                return json_reply(200, {"ok": True})
            if route == ("POST", "/_sim/advance"):
                result = sim.world.advance(
                    float(payload.get("seconds", 3600)), bool(payload.get("activity", True))
                )
                return json_reply(200, {**result, "now": sim.world.clock.now().isoformat()})
            if route == ("POST", "/_sim/happen"):
                result = sim.world.happen(float(payload.get("intensity", 1.0)))
                return json_reply(200, {**result, "now": sim.world.clock.now().isoformat()})
            if route == ("PUT", "/_sim/faults"):
                sim.faults.set(payload if isinstance(payload, list) else [payload])
                return json_reply(200, {"faults": sim.faults.report()})
            if route == ("DELETE", "/_sim/faults"):
                sim.faults.set([])
                return json_reply(200, {"faults": []})
            if route == ("GET", "/_sim/silent"):
                return json_reply(200, {name: sorted(ids) for name, ids in store.silent.items()})
            if route == ("GET", "/_sim/changes"):
                query = dict(parse_qsl(urlsplit(self.path).query))
                after = int(query.get("after") or 0)
                with store.lock:
                    return json_reply(200, {"changes": store.changes(after)})
            if route == ("DELETE", "/_sim/silent"):
                store.silent.clear()
                return json_reply(200, {"ok": True})
            if route == ("POST", "/_sim/revoke"):
                return json_reply(
                    200, {"revoked": sim.tokens.revoke_all(payload.get("client", ""))}
                )
            if route == ("POST", "/_sim/app"):
                return json_reply(200, self._add_app(payload))
            if route == ("PUT", "/_sim/config"):
                return json_reply(200, self._configure(payload))
            if route == ("POST", "/_sim/update"):
                record = store.update(
                    payload["collection"],
                    int(payload["id"]),
                    payload.get("values", {}),
                    bool(payload.get("touch", True)),
                )
                return json_reply(200, store.collections[payload["collection"]].render(record))
            if route == ("POST", "/_sim/admit"):
                return json_reply(200, sim.world.admit(payload.get("user_id")))
            if route == ("POST", "/_sim/insert"):
                return json_reply(200, self._insert(payload))
            if route == ("POST", "/_sim/delete"):
                store.delete(payload["collection"], int(payload["id"]))
                return json_reply(200, {"ok": True})
            if method == "GET" and path.startswith("/_sim/dump/"):
                name = path.rsplit("/", 1)[1]
                if name not in store.collections:
                    return json_reply(404, {"error": f"no collection {name}"})
                with store.lock:
                    return json_reply(200, store.dump(name))
        except (KeyError, ValueError, TypeError) as error:
            return json_reply(400, {"error": f"{type(error).__name__}: {error}"})
        return json_reply(404, {"error": f"no admin route {method} {path}"})

    def _add_app(self, payload: dict) -> dict:
        """Register another application (its own rate limit, tokens and faults)."""
        tokens = self.sim.tokens
        uid, secret = str(payload["uid"]), str(payload["secret"])
        if uid in tokens.apps:
            raise ValueError(f"app {uid} exists")
        app_id = 1 + max(app.app_id for app in tokens.apps.values())
        tokens.add_app(App(uid=uid, secret=secret, app_id=app_id, name=f"intra-elt-{app_id}"))
        return {"uid": uid, "app_id": app_id}

    def _insert(self, payload: dict) -> dict:
        """Add a record in stored form as given (bad input for tests: a location without a
        campus, ending before it begins, of an unknown user...); only its id must be new."""
        store = self.sim.world.store
        collection = store.collections[payload["collection"]]
        record = dict(payload["record"])
        if not isinstance(record.get("id"), int):
            raise ValueError("the record needs an integer id")
        with store.lock:
            if record["id"] in collection.rows:
                raise ValueError(f"{collection.name} {record['id']} exists")
            served = collection.render(record)  # a record that cannot be served is refused
            store.insert(collection.name, record)
            return served

    def _configure(self, payload: dict) -> dict:
        sim = self.sim
        if "per_second" in payload:
            sim.limiter.per_second = int(payload["per_second"])
        if "per_hour" in payload:
            sim.limiter.per_hour = int(payload["per_hour"])
        if payload.get("forget_calls"):  # a new hour for every app: limits set for what follows
            sim.limiter.forget()
        if "token_ttl" in payload:
            sim.tokens.ttl = int(payload["token_ttl"])
        if "secret_valid_until" in payload:
            for app in sim.tokens.apps.values():
                app.secret_valid_until = payload["secret_valid_until"]
        if "int4_ids" in payload:
            sim.int4_ids = bool(payload["int4_ids"])
        if "bare_401" in payload:
            sim.bare_401 = bool(payload["bare_401"])
        if "team_logins" in payload:
            if payload["team_logins"] not in ("current", "frozen"):
                raise ValueError("team_logins must be 'current' or 'frozen'")
            sim.world.store.team_logins = payload["team_logins"]
        if "locations_campus_list" in payload:
            if payload["locations_campus_list"] not in CAMPUS_LISTS:
                raise ValueError(f"locations_campus_list must be one of {CAMPUS_LISTS}")
            sim.world.store.locations_campus_list = payload["locations_campus_list"]
        return {
            "per_second": sim.limiter.per_second,
            "per_hour": sim.limiter.per_hour,
            "token_ttl": sim.tokens.ttl,
            "int4_ids": sim.int4_ids,
            "bare_401": sim.bare_401,
            "team_logins": sim.world.store.team_logins,
            "locations_campus_list": sim.world.store.locations_campus_list,
        }


def refused(param: str) -> QueryError:
    """The query layer's answer to a parameter it does not accept (the ``refuse`` fault)."""
    field = param[param.find("[") + 1 : -1] if "[" in param else param
    kind = param.split("[")[0].capitalize()
    noun = {"Filter": "filterables", "Range": "rangeables"}.get(kind)
    if noun is None:
        return QueryError("Sort", f"The {field} field is not sortable")
    return QueryError(kind, f"Attributes {field} doesn't exists or aren't {noun}.")


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        super().__init__(address, Handler)
        self.sim = sim
