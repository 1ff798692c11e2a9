"""The domain's refusals reach clients as the API's problems: every domain code is one of
the documented problem codes, and each kind of refusal has its status."""

from __future__ import annotations

import pytest
from callpad.domain import Conflict, DomainError, ErrorCode, Forbidden, Invalid, NotFound
from callpad.problems import DOMAIN_STATUS, ProblemCode


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_domain_code_is_a_problem_code(code: ErrorCode) -> None:
    assert ProblemCode(code.value).value == code.value


def test_every_kind_of_refusal_has_its_status() -> None:
    kinds = set(DomainError.__subclasses__())
    assert kinds == {Forbidden, NotFound, Conflict, Invalid} == set(DOMAIN_STATUS)
    assert [DOMAIN_STATUS[k] for k in (Forbidden, NotFound, Conflict, Invalid)] == [
        403,
        404,
        409,
        422,
    ]
