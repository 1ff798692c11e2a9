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
