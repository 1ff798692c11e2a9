"""The docs tell the truth: the interactive reference works offline, `GET /` leads to it,
the repository stands alone, and the README's quick start is checked by `make check`."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

from callpad.testing import fast_settings

from testsupport.api import Api, running_app

ROOT = Path(__file__).resolve().parents[3]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


async def test_the_interactive_reference_loads_nothing_from_outside(tmp_path: Path) -> None:
    settings = fast_settings(f"sqlite:///{tmp_path / 'docs.db'}")
    async with running_app(settings) as app, Api.in_process(app, settings) as api:
        root = await api.client.get("/")
        assert root.status_code in {302, 307}
        assert root.headers["location"] == "/api/v1/docs"
        page = await api.client.get("/api/v1/docs")
        assert page.status_code == 200
        assets = _Assets()
        assets.feed(page.text)
        scripts = [u for u in assets.urls if u.endswith(".js")]
        styles = [u for u in assets.urls if u.endswith(".css")]
        assert scripts and styles, assets.urls
        for url in assets.urls:
            assert url.startswith("/api/v1/"), f"{url} is not served by Callpad"
            asset = await api.client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
        assert "/api/v1/openapi.json" in page.text
        document = await api.client.get("/api/v1/openapi.json")
        assert document.json()["info"]["title"] == "Callpad"


def test_the_repository_stands_alone() -> None:
    """No file cites the design notes that live outside the repository."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    citing = [
        path
        for path in tracked
        if path.endswith((".md", ".py", ".toml", ".sh", "Makefile"))
        and re.search(r"DESIGN\.md|/work/shared|REALTIME\.md|STYLE\.md", (ROOT / path).read_text())
        and path != "packages/callpad/tests/test_docs.py"
    ]
    assert citing == []


def quick_start_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_quick_start", ROOT / "scripts" / "check_quick_start.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_check_reads_the_readme_quick_start() -> None:
    """`make docs-check` runs the real thing; this pins what it reads from the README."""
    check = quick_start_check()
    section = check.quick_start((ROOT / "README.md").read_text())
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert check.commands(blocks[0]) == ["make run", "make test"]
    assert check.count_curls(blocks) >= 4
    assert check.links(section) == ["http://127.0.0.1:8080/api/v1/docs"]
    assert "30 seconds" in section


def test_make_check_runs_the_docs_check() -> None:
    dry = subprocess.run(
        ["make", "-n", "check"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "scripts/check_quick_start.py" in dry.stdout
