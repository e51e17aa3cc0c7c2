"""``printers`` builds on ``points`` only, and importing it leaves no temporary folders."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_printers_imports_neither_pos_nor_server_nor_textual() -> None:
    for path in (ROOT / "printers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"pos", "server", "textual"}, f"{path.name} imports {name}"


def test_importing_and_rendering_leaves_no_temporary_folder(tmp_path: pathlib.Path) -> None:
    # python-escpos 3.1 calls mkdtemp() even when ESCPOS_CAPABILITIES_PICKLE_DIR is set.
    temp, home = tmp_path / "tmp", tmp_path / "home"
    temp.mkdir()
    home.mkdir()
    unset = ("ESCPOS_CAPABILITIES_PICKLE_DIR", "XDG_CACHE_HOME")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(TMPDIR=str(temp), HOME=str(home), PYTHONPATH=str(ROOT))
    code = "import printers, printers.samples as s; printers.render(s.sample_receipt())"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path)
    assert list(temp.iterdir()) == []
    assert list((home / ".cache" / "mykey-pos" / "escpos").glob("*.capabilities.pickle"))


def test_with_the_pickle_folder_set_nothing_lands_in_the_temporary_folder(tmp_path: pathlib.Path) -> None:
    temp, pickles = tmp_path / "tmp", tmp_path / "pickles"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "ESCPOS_CAPABILITIES_PICKLE_DIR": str(pickles)}
    env["PYTHONPATH"] = str(ROOT)
    # python-escpos loads on the first render (not on import: the counter's start-up).
    code = "import printers, printers.samples as s; printers.render(s.sample_receipt())"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path)
    assert list(temp.iterdir()) == []
    assert list(pickles.glob("*.capabilities.pickle"))


def test_importing_printers_leaves_python_escpos_and_the_layout_unloaded() -> None:
    code = (
        "import sys, printers.connections; "
        "print(sorted(m for m in sys.modules if m.startswith(('escpos', 'printers.layout'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "[]"


def test_terminals_starting_together_on_an_empty_cache_all_come_up(tmp_path: pathlib.Path) -> None:
    # The soak's four terminals started at once on a fresh cache: one read the pickle another
    # was still writing and died with EOFError. Eight at once, each rendering a receipt.
    env = {**os.environ, "ESCPOS_CAPABILITIES_PICKLE_DIR": str(tmp_path / "pickles"), "PYTHONPATH": str(ROOT)}
    code = "import printers, printers.samples as s; printers.render(s.sample_receipt())"
    starts = [
        subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    failures = [p.communicate()[1].decode(errors="replace")[-400:] for p in starts if p.wait() != 0]
    assert failures == []
    assert [p.name for p in (tmp_path / "pickles").iterdir()] == [
        f"{sys.version.split()[0]}.capabilities.pickle"
    ]
