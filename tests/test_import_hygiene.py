"""The domain and the server stay headless: ``points`` does no I/O, neither imports ``textual``."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
IO_LIBRARIES = {
    "textual", "httpx", "sqlite3", "sqlite_utils", "socket", "smartcard", "escpos", "uvicorn",
    "asyncio", "urllib", "http",
}  # fmt: skip
#: What ``points`` may build on; whatever these load themselves is theirs, not ours (pydantic
#: looks up its plugins through importlib.metadata, which loads ``socket``, when a first model is built).
ALLOWED_DEPENDENCIES = (
    "tomllib, cryptography.hazmat.primitives.asymmetric.ed25519, pydantic\n"
    "class M(pydantic.BaseModel):\n    x: int"
)


def modules_after_import(module: str) -> set[str]:
    code = f"import sys, json\nimport {module}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return {name.split(".")[0] for name in json.loads(out.stdout)}


def test_points_loads_no_io_library_beyond_its_dependencies() -> None:
    baseline = modules_after_import(ALLOWED_DEPENDENCIES)
    loaded = modules_after_import(
        "points.money, points.awards, points.programs, points.tax, points.tickets, points.wire, "
        "points.settlement_wire"
    )
    assert (loaded - baseline) & IO_LIBRARIES == set()


def test_points_source_imports_no_io_library() -> None:
    for path in (ROOT / "points").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in IO_LIBRARIES, f"{path.name} imports {name}"


@pytest.mark.parametrize("module", ["server", "points", "printers"])
def test_headless_packages_never_import_textual(module: str) -> None:
    assert "textual" not in modules_after_import(module)
