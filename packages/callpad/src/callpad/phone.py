"""Phone numbers: strict E.164, or a clear problem."""

from __future__ import annotations

import phonenumbers

from .problems import Problem, ProblemCode

__all__ = ["normalize_phone"]


def normalize_phone(raw: str) -> str:
    """A phone number in strict E.164 (`+` and digits), or a 422 problem."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise Problem(422, ProblemCode.INVALID_PHONE, f"{raw!r} is not an E.164 number.") from exc
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if e164 != raw or not phonenumbers.is_possible_number(number):
        raise Problem(
            422, ProblemCode.INVALID_PHONE, f"{raw!r} is not an E.164 number (like +12025550100)."
        )
    return e164
