"""Packages import downward only: every module of `callpad` sits in one layer, and may import
its own layer and those below, never above. Features (one folder each) sit side by side and
do not import one another: what they share belongs to a lower layer."""

from __future__ import annotations

import ast
from pathlib import Path

import callpad

PACKAGE = Path(callpad.__file__).parent

# Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: list[tuple[str, ...]] = [
    ("callpad.domain",),  # pure rules: imports nothing of callpad's
    (
        "callpad.clock",
        "callpad.config",
        "callpad.problems",
        "callpad.inputs",
        "callpad.request_ids",
        "callpad.pagination",
        "callpad.phone",
        "callpad.metrics",
        "callpad.background",
        "callpad.signing",
    ),
    ("callpad.db",),
    ("callpad.auth", "callpad.vendors"),
    ("callpad.realtime", "callpad.media", "callpad.idempotency"),
    ("callpad.context",),  # AppContext: what the running server owns
    ("callpad.dependencies", "callpad.mutations"),  # the HTTP plumbing every feature shares
    (  # the features
        "callpad.sessions",
        "callpad.dispatch",
        "callpad.presence",
        "callpad.admin",
        "callpad.webhooks",
        "callpad.recordings",
        "callpad.realtime.endpoints",
    ),
    (
        "callpad.realtime.runtime",
        "callpad.workers",
        "callpad.app",
        "callpad.serving",
        "callpad.cli",
    ),
    ("callpad.testing",),
]
FEATURES = LAYERS[7]
FEATURE_LAYER = 7
# The only feature-to-feature imports: a session's changes drive its team dispatches and
# record agents' call endings for presence, in the same transaction; LiveKit's webhooks
# are applied to sessions as media reports; a recording is served to whoever sees its
# session.
ALLOWED = {
    ("callpad.sessions", "callpad.dispatch"),
    ("callpad.sessions", "callpad.presence"),
    ("callpad.webhooks", "callpad.sessions"),
    ("callpad.recordings", "callpad.sessions"),
}
EXEMPT = ("callpad.db.migrations",)  # Alembic scripts, loaded by Alembic itself


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def owner(module: str, groups: tuple[str, ...]) -> str | None:
    """The longest prefix in `groups` that `module` falls under."""
    matches = [g for g in groups if module == g or module.startswith(g + ".")]
    return max(matches, key=len) if matches else None


def layer_of(module: str) -> int:
    found = [(len(o), i) for i, layer in enumerate(LAYERS) if (o := owner(module, layer))]
    assert found, f"{module} is in no layer: place it in LAYERS"
    return max(found)[1]


def imports_of(path: Path, module: str) -> set[str]:
    """The callpad modules `path` imports, at any depth (TYPE_CHECKING imports too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("callpad"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("callpad"):
                found.add(base)
    return found


def test_every_import_points_down() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        if module.startswith(EXEMPT) or module == "callpad":
            continue
        mine = layer_of(module)
        for target in imports_of(path, module):
            if target == "callpad":
                continue
            theirs = layer_of(target)
            if theirs > mine:
                upward.append(f"{module} (layer {mine}) imports {target} (layer {theirs})")
            elif theirs == mine == FEATURE_LAYER:
                a, b = owner(module, FEATURES), owner(target, FEATURES)
                if a != b and (a, b) not in ALLOWED:
                    upward.append(f"feature {a} imports feature {b} ({module} -> {target})")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk would catch a domain module reaching up to the database."""
    bad = tmp_path / "callpad" / "domain" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from ..db.engine import Database\nfrom callpad.app import create_app\n")
    module = "callpad.domain.bad"
    assert imports_of(bad, module) == {"callpad.db.engine", "callpad.app"}
    assert layer_of(module) < layer_of("callpad.db.engine") < layer_of("callpad.app")
