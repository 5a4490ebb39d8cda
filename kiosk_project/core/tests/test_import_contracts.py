"""The one-way app graph is a checked rule: `make lint` runs import-linter, and a wrong import fails it.

Both checks run `lint-imports` on a copy of the source (no migrations or assets), so the second can add
an import that the graph forbids without touching the work tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("kiosk_project", "catalog", "orders", "kds_bridge", "payments", "backoffice", "kiosk_screen")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def source_copy(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("migrations", "__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=where, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"}, check=False)


def test_the_app_graph_as_it_stands_keeps_every_contract(source_copy: Path) -> None:
    result = lint_imports(source_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "bad_import", "complaint"), [
    # The hidden cycle of issue 10: orders handing the order to the kitchen itself.
    ("orders/services.py", "from kds_bridge.services import kitchen_delivery_create",
     "orders is not allowed to import kds_bridge"),
    ("kiosk_project/core/errors.py", "import orders.models", "kiosk_project.core is not allowed to import orders"),
    ("catalog/services.py", "import payments.models", "catalog is not allowed to import payments"),
    ("kds_bridge/services.py", "import requests", "kds_bridge is not allowed to import requests"),
])
def test_a_wrong_import_fails_the_lint(source_copy: Path, module: str, bad_import: str, complaint: str) -> None:
    path = source_copy / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    result = lint_imports(source_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert complaint in " ".join(result.stdout.split())
