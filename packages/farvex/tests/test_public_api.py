"""The SDK's public surface: what `import farvex` promises."""

from __future__ import annotations

from importlib.metadata import version

import farvex


def test_public_names_are_sorted_and_importable() -> None:
    assert farvex.__all__ == sorted(farvex.__all__)
    for name in farvex.__all__:
        assert hasattr(farvex, name), name


def test_version_matches_the_distribution() -> None:
    assert farvex.__version__ == version("farvex")


def test_the_documented_surface_is_exported() -> None:
    for name in (
        "Auth",
        "CallpadError",
        "APIConnectionError",
        "APITimeoutError",
        "ConflictError",
        "HostClient",
        "HostStartInput",
        "SessionClient",
        "VoiceJoinGrant",
        "VoiceSession",
        "create_host_client",
        "create_session_client",
    ):
        assert name in farvex.__all__, name
    assert issubclass(farvex.APITimeoutError, farvex.APIConnectionError)
    assert issubclass(farvex.APIConnectionError, farvex.CallpadError)


def test_every_error_is_a_callpad_error_and_each_status_has_its_class() -> None:
    errors = [
        getattr(farvex, name)
        for name in farvex.__all__
        if isinstance(getattr(farvex, name), type)
        and issubclass(getattr(farvex, name), BaseException)
    ]
    assert errors and all(issubclass(e, farvex.CallpadError) for e in errors)
    for status, name in [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (403, "PermissionDeniedError"),
        (404, "NotFoundError"),
        (409, "ConflictError"),
        (412, "PreconditionFailedError"),
        (429, "RateLimitError"),
        (500, "InternalServerError"),
    ]:
        error = farvex._errors.status_error(status, {"code": "x"})
        assert type(error).__name__ == name
        assert isinstance(error, farvex.APIStatusError)


def test_the_sdk_does_not_import_the_server() -> None:
    import subprocess
    import sys

    code = "import sys, farvex, farvex.testing; assert 'callpad' not in sys.modules, 'callpad'"
    subprocess.run([sys.executable, "-c", code], check=True)
