"""Property-based tests of the whole API from its OpenAPI document (schemathesis).

Every operation gets requests generated from its schema, sent as the organisation's admin
(so writes go through) on both database backends. The checks: no 5xx, and status codes,
content types, headers and response bodies as documented. (Schemathesis' check that every
schema-valid request is accepted is left out: the services rightly refuse some, such as a
name of only spaces, with a documented 422 naming the field.)

The operations are walked inside one test per backend rather than through
``schemathesis.pytest``, whose fixture loader does not work with pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_support import ORG_A, Api, make_api

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api(db_url: str) -> Api:
    return make_api(db_url)


def _check_operation(api: Api, operation) -> str | None:  # type: ignore[no-untyped-def]
    """The first failure on ``operation``, or None."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # type: ignore[no-untyped-def]
        if case.path_parameters and "org" in case.path_parameters:
            # Aim at the caller's own organisation, so requests reach the services rather
            # than stopping at the tenant check (which other tests cover).
            case.path_parameters["org"] = ORG_A
        case.call_and_validate(headers=api.as_("admin"), checks=CHECKS)

    try:
        run()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # collect every operation's failure
        return f"{operation.label}: {str(exc)[:2000]}"
    return None


def test_every_operation_matches_the_schema_and_never_fails_with_5xx(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api.app)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        failure = _check_operation(api, operation)
        if failure:
            failures.append(failure)
    assert operations > 40
    assert not failures, "\n\n".join(failures)
