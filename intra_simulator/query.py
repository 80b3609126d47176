"""The API's query language: ``filter``, ``range``, ``sort`` and pagination.

The intra's query layer is the rice_cooker gem (its error strings match what clients saw), so
this module follows its semantics and messages:

- ``filter[f]=a,b``: ``f IN (a, b)``; several filters are AND-ed; an empty value is ignored.
  ``*_at`` columns compare by calendar date. Every ``x_at`` column other than ``created_at`` and
  ``updated_at`` also gets a boolean filter ``filter[x]=true|false`` (``begin_at`` gets
  ``filter[future]``, true when it is after the simulated now); a collection can add boolean
  filters true when a column is null (locations' ``filter[active]``: ``end_at`` is null).
- ``range[f]=min,max``: inclusive on both ends, exactly two values.
- ``sort=a,-b``: keys applied in order, ``-`` for descending, NULLs last when ascending.
- ``page[number]``/``page[size]`` or ``page``/``per_page``: default size 30, clamped to 100.

Unknown fields give 400 with ``{"error": "<Kind> Error", "message": ...}``.

Id columns are 32-bit integers (int4) in the intra's database, and the Rails version behind
it raises when a query binds a value beyond that range: a ``filter`` or ``range`` on an id with
such a value is a 500 (``beyond_int4``), not an empty result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from intra_simulator.generate import iso

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1

# Column types: the value kinds the query layer knows how to compare.
INT, STR, BOOL, TIME, FLOAT = "int", "str", "bool", "time", "float"


class BadGateway(Exception):
    """A query the gateway gives up on: 502 with the gateway's HTML page, as a timeout would."""


class QueryError(Exception):
    """A query the API rejects; ``status`` and ``body`` are the response to send."""

    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": f"{kind} Error", "message": message}


@dataclass
class Columns:
    """What a collection lets clients filter, range and sort on."""

    types: dict[str, str]
    getters: dict[str, Callable[[dict], object]]
    custom_filters: dict[str, Callable[[dict, list[str]], bool]]
    not_sortable: frozenset[str] = frozenset()
    null_filters: dict[str, str] = field(default_factory=dict)  # filter name -> its column

    def value(self, record: dict, column: str) -> object:
        getter = self.getters.get(column)
        return getter(record) if getter else record.get(column)

    def boolean_filters(self) -> dict[str, str]:
        """The auto-generated ``filter[x]=true|false`` names, mapped to their ``x_at`` column."""
        names = {}
        for column, kind in self.types.items():
            if (
                kind == TIME
                and column.endswith("_at")
                and column not in ("created_at", "updated_at")
            ):
                names["future" if column == "begin_at" else column[:-3]] = column
        names.update(self.null_filters)
        return names


def sentence(words: Iterable[str]) -> str:
    """Rails' ``to_sentence``: ``a, b, and c``."""
    items = list(words)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def bracketed(params: dict[str, str], prefix: str) -> dict[str, str]:
    """``{"filter[kind]": "x"}`` -> ``{"kind": "x"}`` for the given prefix."""
    start = prefix + "["
    return {
        k[len(start) : -1]: v for k, v in params.items() if k.startswith(start) and k.endswith("]")
    }


def parse_time(text: str) -> datetime:
    value = text.strip().replace("Z", "+00:00").replace(" ", "+")
    if len(value) == 10:
        value += "T00:00:00+00:00"
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cast(kind: str, text: str) -> object:
    """Cast a range bound to something comparable with the stored values."""
    if kind == INT:
        return int(text)
    if kind == FLOAT:
        return float(text)
    if kind == TIME:
        return iso(parse_time(text))
    return text


def _matches_filter(kind: str, value: object, wanted: list[str]) -> bool:
    if value is None:
        return False  # SQL: NULL IN (...) is never true
    if kind == BOOL:
        return ("true" if value else "false") in [w.lower() for w in wanted]
    if kind == TIME:
        return str(value)[:10] in [w[:10] for w in wanted]
    if kind == FLOAT:
        return any(_float_or_none(w) == value for w in wanted)
    return str(value) in wanted


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def build_predicate(
    params: dict[str, str], columns: Columns, now: datetime | None = None
) -> Callable[[dict], bool]:
    """Compile the ``filter`` and ``range`` parameters into one record predicate; ``now`` (the
    simulated clock's) is what ``filter[future]`` compares with."""
    checks: list[Callable[[dict], bool]] = []
    booleans = columns.boolean_filters()

    filters = {k: v for k, v in bracketed(params, "filter").items() if v != ""}
    allowed = [*columns.types, *booleans, *columns.custom_filters]
    unknown = [name for name in filters if name not in allowed]
    if unknown:
        raise QueryError(
            "Filter",
            f"Attributes {sentence(unknown)} doesn't exists or aren't filterables. "
            f"Available filters are: {sentence(allowed)}",
        )
    for name, raw in filters.items():
        wanted = raw.split(",")
        if name in columns.custom_filters:
            custom = columns.custom_filters[name]
            checks.append(lambda r, custom=custom, wanted=wanted: custom(r, wanted))
        elif name in columns.types:
            kind = columns.types[name]
            checks.append(
                lambda r, n=name, k=kind, w=wanted: _matches_filter(k, columns.value(r, n), w)
            )
        else:
            column = booleans[name]
            flag = raw.lower()
            if flag not in ("true", "false"):
                raise QueryError(
                    "Filter", f"Value {raw} is not allowed for filter {name}, can be true and false"
                )
            if name == "future":
                stamp = iso(now or datetime.now(UTC))
                checks.append(
                    lambda r, c=column, f=flag, now=stamp: (
                        (str(columns.value(r, c) or "") >= now) == (f == "true")
                    )
                )
            elif name in columns.null_filters:
                checks.append(
                    lambda r, c=column, f=flag: (columns.value(r, c) is None) == (f == "true")
                )
            else:
                checks.append(
                    lambda r, c=column, f=flag: (columns.value(r, c) is not None) == (f == "true")
                )

    ranges = bracketed(params, "range")
    unknown = [name for name in ranges if name not in columns.types]
    if unknown:
        raise QueryError(
            "Range",
            f"Attributes {sentence(unknown)} doesn't exists or aren't rangeables. "
            f"Available ranges are: {sentence(columns.types)}",
        )
    for name, raw in ranges.items():
        bounds = raw.split(",") if raw else []
        if len(bounds) > 2:
            raise QueryError(
                "Range",
                f"Invalid range format for {name}. Too many arguments for filter ({bounds}).",
            )
        if len(bounds) < 2:
            raise QueryError(
                "Range",
                f"Invalid range format for {name}. Begin and end must be separated by a comma (,).",
            )
        kind = columns.types[name]
        try:
            low, high = (_cast(kind, bound) for bound in bounds)
        except ValueError:
            raise QueryError(
                "Range",
                f"Unable to create a range between values '{bounds[0]}' and '{bounds[1]}'",
                422,
            ) from None

        def in_range(r: dict, n=name, lo=low, hi=high) -> bool:
            value = columns.value(r, n)
            return value is not None and lo <= value <= hi

        # first: a window of time keeps a few records of a million, and every other check
        # (a campus filter looks the user up) then runs on those few only
        checks.insert(0, in_range)
    return lambda record: all(check(record) for check in checks)


def narrow_by_time_range(rows: list[dict], params: dict[str, str], columns: Columns) -> list[dict]:
    """The rows a ``range`` on a stored time column keeps (the first such range), before the
    general predicate runs on them: a tick's window keeps a hundred records of a million, and
    this plain comprehension is several times faster than the predicate's checks (projects_users
    at network scale took 5 s a page, most of a watch tick). ``build_predicate`` still checks
    every range, and reports a malformed one."""
    for name, raw in bracketed(params, "range").items():
        if columns.types.get(name) != TIME or name in columns.getters or raw.count(",") != 1:
            continue
        try:
            low, high = (_cast(TIME, bound) for bound in raw.split(","))
        except ValueError:
            return rows
        return [r for r in rows if (v := r.get(name)) is not None and low <= v <= high]
    return rows


def beyond_int4(params: dict[str, str]) -> bool:
    """Whether a ``filter`` or ``range`` on an id column (``id``, ``*_id``) holds an integer
    that a 32-bit column cannot: the query older Rails versions fail with a 500."""
    for prefix in ("filter", "range"):
        for column, raw in bracketed(params, prefix).items():
            if column != "id" and not column.endswith("_id"):
                continue
            for value in raw.split(","):
                try:
                    number = int(value)
                except ValueError:
                    continue  # not an integer: the query layer's own errors apply
                if not INT4_MIN <= number <= INT4_MAX:
                    return True
    return False


def parse_sort(params: dict[str, str], columns: Columns) -> list[tuple[str, bool]]:
    """``sort=a,-b`` -> ``[("a", False), ("b", True)]`` (column, descending)."""
    keys = []
    for part in (params.get("sort") or "").split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        column = part.lstrip("-")
        if column not in columns.types or column in columns.not_sortable:
            raise QueryError("Sort", f"The {column} field is not sortable")
        keys.append((column, descending))
    return keys


def apply_sort(records: list[dict], keys: list[tuple[str, bool]], columns: Columns) -> list[dict]:
    """Stable multi-key sort, PostgreSQL style: NULLs last ascending, first descending."""
    for column, descending in reversed(keys):
        records.sort(
            key=lambda r, c=column: (
                (columns.value(r, c) is None, columns.value(r, c) or 0)
                if columns.types[c] in (INT, FLOAT, BOOL)
                else (columns.value(r, c) is None, str(columns.value(r, c) or ""))
            ),
            reverse=descending,
        )
    return records


@dataclass
class Page:
    number: int
    size: int
    size_given: bool

    def slice(self, total: int) -> slice:
        start = (self.number - 1) * self.size
        return slice(start, start + self.size) if start < total else slice(0, 0)


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def parse_page(params: dict[str, str]) -> Page:
    number = _positive_int(params.get("page[number]", params.get("page"))) or 1
    raw_size = params.get("page[size]", params.get("per_page"))
    size = _positive_int(raw_size) or DEFAULT_PAGE_SIZE
    return Page(number=number, size=min(size, MAX_PAGE_SIZE), size_given=raw_size is not None)


def pagination_headers(
    base_url: str, params: dict[str, str], page: Page, total: int
) -> dict[str, str]:
    """``X-Page``/``X-Per-Page``/``X-Total`` and a Link header with api-pagination's rel rules:
    ``first``/``prev`` unless on page 1, ``last``/``next`` unless on the last page. Link URLs use
    the plain ``page=N`` form (plus ``per_page`` when a size was asked for)."""
    last = max(1, math.ceil(total / page.size))
    kept = {
        k: v
        for k, v in params.items()
        if k not in ("page", "per_page", "page[number]", "page[size]")
    }

    def url(number: int) -> str:
        query = dict(kept, page=str(number))
        if page.size_given:
            query["per_page"] = str(page.size)
        return f"{base_url}?{urlencode(query)}"

    links = []
    if page.number > 1:
        links += [f'<{url(1)}>; rel="first"', f'<{url(min(page.number - 1, last))}>; rel="prev"']
    if page.number < last:
        links += [f'<{url(last)}>; rel="last"', f'<{url(page.number + 1)}>; rel="next"']
    headers = {"X-Page": str(page.number), "X-Per-Page": str(page.size), "X-Total": str(total)}
    if links:
        headers["Link"] = ", ".join(links)
    return headers
