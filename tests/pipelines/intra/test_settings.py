"""The raw schema's contract: the column hints the dlt source declares (``settings``) and the
columns dbt's source YAML documents for the same raw tables are the same list.

The rule, the strictest that holds: for every raw table, the YAML lists exactly the hinted
columns, in the order the hints declare them, followed by dlt's own ``_dlt_load_id`` and
``_dlt_id``; the YAML's tables are exactly the raw tables the source writes, plus dlt's
``_dlt_loads`` (whose columns are dlt's own)."""

from __future__ import annotations

import pytest
import yaml
from dlt.common.schema.typing import C_DLT_ID, C_DLT_LOAD_ID, LOADS_TABLE_NAME
from dlt.common.schema.utils import loads_table

from pipelines.config import RAW_SCHEMA
from pipelines.intra import intra, intra_api
from pipelines.intra.settings import (
    BY_ID_ENDPOINTS,
    LIVE_BOOKKEEPING,
    LIVE_ENDPOINTS,
    REFERENCE_ENDPOINTS,
    column_hints,
)
from tests.conftest import REPO

SOURCES_YML = REPO / "dbt_project/models/staging/intra/_intra__sources.yml"
DLT_COLUMNS = [C_DLT_LOAD_ID, C_DLT_ID]  # what dlt adds to every table it loads


def hinted_tables() -> dict[str, list[tuple[str, list[str]]]]:
    """Raw table -> [(resource, its hinted columns in order)], as the resources declare them
    (``pipelines.intra``: live and by-id resources add the bookkeeping columns)."""
    tables: dict[str, list[tuple[str, list[str]]]] = {}
    for endpoints, extra in (
        (REFERENCE_ENDPOINTS, {}),
        (LIVE_ENDPOINTS, LIVE_BOOKKEEPING),
        (BY_ID_ENDPOINTS, LIVE_BOOKKEEPING),
    ):
        for name, endpoint in endpoints.items():
            hints = column_hints({**endpoint.columns, **extra})
            tables.setdefault(endpoint.table or name, []).append((name, list(hints)))
    return tables


HINTS = hinted_tables()


def source_yaml() -> dict:
    (source,) = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    return source


def yaml_columns() -> dict[str, list[str]]:
    return {t["name"]: [c["name"] for c in t.get("columns", [])] for t in source_yaml()["tables"]}


YAML = yaml_columns()


def test_the_yaml_documents_the_raw_schema() -> None:
    assert source_yaml()["schema"] == RAW_SCHEMA


def test_the_yaml_has_exactly_the_raw_tables_the_source_writes_plus_dlt_loads() -> None:
    assert sorted(YAML) == sorted([*HINTS, LOADS_TABLE_NAME])


@pytest.mark.parametrize("table", sorted(HINTS))
def test_the_yaml_lists_the_hinted_columns_in_order_then_dlts_own(table: str) -> None:
    hinted = HINTS[table][0][1]
    documented = YAML.get(table, [])
    assert sorted(set(documented) - set(hinted) - set(DLT_COLUMNS)) == [], "not hinted"
    assert sorted(set(hinted) - set(documented)) == [], "not documented"
    assert documented == [*hinted, *DLT_COLUMNS]


@pytest.mark.parametrize("table", [t for t, resources in HINTS.items() if len(resources) > 1])
def test_resources_feeding_one_table_declare_the_same_hints(table: str) -> None:
    """``users`` is written by the listing and by ``users_by_id``: whichever loads first
    must not decide the table's columns or their types."""
    endpoints = {**LIVE_ENDPOINTS, **BY_ID_ENDPOINTS}
    (first, *others) = [column_hints(endpoints[name].columns) for name, _ in HINTS[table]]
    assert all(other == first for other in others)


def test_the_yaml_columns_of_dlt_loads_are_dlts_own() -> None:
    assert YAML[LOADS_TABLE_NAME] == list(loads_table()["columns"])


def test_the_source_resources_land_the_hinted_columns() -> None:
    """The wiring: the resources the source builds declare exactly these hints (building
    the source makes no request)."""
    api = intra_api(client_id="contract", client_secret="test", base_url="http://contract.invalid")
    source = intra(api, reports={})
    for name, resource in source.resources.items():
        schema = resource.compute_table_schema()
        ((_, hinted),) = [r for r in HINTS[schema["name"]] if r[0] == name]
        assert list(schema["columns"]) == hinted, name
