"""Naming what went wrong in one short line: dlt wraps a resource's error in its step's, so
the run looks down the exception chain for the cause worth reporting."""

from __future__ import annotations


def find_cause(error: BaseException, *types: type[BaseException]) -> BaseException | None:
    """The first exception of ``types`` in an exception's cause/context chain."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, types):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception of a chain (dlt wraps resource errors twice)."""
    seen = set()
    while id(error) not in seen and (error.__cause__ or error.__context__) is not None:
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return error


def describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
