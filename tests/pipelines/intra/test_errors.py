"""The API's refusals of a request's parameters, described for the run report."""

from __future__ import annotations

import json

import pytest
import requests

from pipelines.intra.errors import describe_refusal

URL = (
    "https://api.intra.42.fr/v2/projects_users?filter%5Bcampus%5D=1%2C9"
    "&range%5Bupdated_at%5D=2026-01-01T00%3A00%3A00Z%2C2026-01-02T00%3A00%3A00Z&sort=id"
)


def refusal(status: int, body: object, url: str = URL) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.reason = "Bad Request"
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.request = requests.Request("GET", url).prepare()
    return requests.HTTPError(f"{status} Client Error", response=response)


def test_the_refused_parameter_and_the_apis_words_are_named() -> None:
    message = "Attributes campus doesn't exists or aren't filterables. Available filters are: id"
    text = describe_refusal(refusal(400, {"error": "Filter Error", "message": message}))
    assert text == f"the API refused filter[campus] (400 Filter Error: {message})"


def test_a_range_error_names_the_range() -> None:
    body = {"error": "Range Error", "message": "Attributes updated_at doesn't exists"}
    assert "refused range[updated_at] (400 Range Error" in describe_refusal(refusal(400, body))


def test_a_sort_error_names_the_sort() -> None:
    body = {"error": "Sort Error", "message": "The id field is not sortable"}
    assert describe_refusal(refusal(400, body)).startswith("the API refused sort (400 Sort")


def test_without_a_message_every_query_parameter_is_listed() -> None:
    text = describe_refusal(refusal(422, b"<html>Unprocessable</html>"))
    assert text == "the API refused filter[campus], range[updated_at], sort (422 Bad Request)"


@pytest.mark.parametrize("status", [401, 404, 500, 503])
def test_other_errors_are_not_refusals(status: int) -> None:
    assert describe_refusal(refusal(status, {"error": "x"})) is None
