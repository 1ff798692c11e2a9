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
        "CallpadConnectionError",
        "CallpadTimeoutError",
        "HostClient",
        "HostStartInput",
        "SessionClient",
        "VoiceJoinGrant",
        "VoiceSession",
        "create_host_client",
        "create_session_client",
    ):
        assert name in farvex.__all__, name
    assert issubclass(farvex.CallpadTimeoutError, farvex.CallpadConnectionError)
    assert issubclass(farvex.CallpadConnectionError, farvex.CallpadError)


def test_the_sdk_does_not_import_the_server() -> None:
    import subprocess
    import sys

    code = "import sys, farvex, farvex.testing; assert 'callpad' not in sys.modules, 'callpad'"
    subprocess.run([sys.executable, "-c", code], check=True)
