"""The package layout is the architecture (docs/architecture.md): every import points down.

Each package may import only the ones listed for it; a new import that points up (say the
engine reading the store, or the store importing support logic) fails here."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "exporter"

# What each part may import from the exporter package (itself always allowed).
ALLOWED = {
    "errors": set(),
    "model": set(),
    "metrics": set(),
    "logs": set(),
    "engine": {"model"},
    "config": {"model", "engine"},
    "support": {"model", "engine"},
    "store": {"model", "engine", "config"},
    "probing": {"model", "engine", "config", "store"},
    "web": {"model", "metrics", "engine", "config", "support", "store", "probing", "logs"},
    "report": {"model", "engine", "store"},
    "evidence": {"model", "engine", "config", "store", "report", "render"},
    "export": {"model", "metrics", "engine", "store"},
    "render": {"model", "engine", "store", "support", "report"},
    "daemon": {
        "model",
        "metrics",
        "engine",
        "config",
        "support",
        "store",
        "probing",
        "web",
        "logs",
        "report",
        "render",
    },
    "demo": {"model", "engine", "config", "support", "store", "daemon", "logs"},
    "cli": {
        "model",
        "engine",
        "config",
        "support",
        "store",
        "probing",
        "web",
        "report",
        "evidence",
        "export",
        "render",
        "daemon",
        "demo",
        "logs",
    },
    "__main__": {"cli"},
    "__init__": set(),
}


def part_of(module: str) -> str:
    """exporter.engine.states -> engine; exporter.cli -> cli."""
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


def imports(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("exporter"):
            if node.module == "exporter":
                found |= {f"exporter.{a.name}" for a in node.names if a.name != "__version__"}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("exporter.")}
    return found


MODULES = sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_points_down(path):
    rel = path.relative_to(ROOT).with_suffix("")
    me = rel.parts[0]
    allowed = ALLOWED[me] | {me, "errors"}  # every layer may raise a user error
    wrong = sorted(m for m in imports(path) if part_of(m) not in allowed)
    assert not wrong, f"exporter/{rel} ({me}) may import {sorted(ALLOWED[me])}, not {wrong}"


def test_relative_imports_are_not_used():
    relative = [
        str(p.relative_to(ROOT))
        for p in MODULES
        if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(p.read_text())))
    ]
    assert relative == []


def test_every_user_error_is_one_family():
    """One exception hierarchy for mistakes users can fix; the command line reports it once."""
    from exporter.config import ConfigError
    from exporter.errors import UserError
    from exporter.store.importer import ImportError_
    from exporter.store.sqlite import StoreError
    from exporter.web.webconfig import WebConfigError

    assert all(issubclass(e, UserError) for e in (ConfigError, ImportError_, StoreError, WebConfigError))


# Libraries the `run` path never needs unless the config asks for them, imported where they
# are used: each costs the daemon megabytes of RSS (holidays' country tables ~9 MB,
# cryptography ~14 MB, RE2 ~2.6 MB).
@pytest.mark.parametrize("library", ["holidays", "cryptography", "re2"])
def test_run_path_imports_no_optional_library(library):
    code = "import sys, exporter.cli, exporter.daemon; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT.parent)
    assert library not in done.stdout.split()
