"""The layout follows the domains: imports point one way, and every domain app has one shape.

Parsed with ``ast`` (nothing is imported): ``calls`` and ``consent`` never import ``dsr`` (holds,
retention and deletion live in calls; dsr reacts to calls through its signals), and the core
``portal`` imports no domain app — apps plug into it through registries filled in
``AppConfig.ready``. Wiring by dotted string (``include("dsr.urls")``, ``INSTALLED_APPS``) is not
an import and stays allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = ("calls", "consent", "dsr", "breaches")
# What an app may not import (its top-level package), by app.
FORBIDDEN = {
    "portal": set(DOMAIN_APPS),
    "calls": {"dsr"},
    "consent": {"dsr"},
}
# Each domain app: modules (``name.py``, or a package ``name/`` where it grew) and packages.
MODULES = ("models", "selectors", "forms", "tasks", "seed", "urls")
PACKAGES = ("services", "api", "admin", "views")


def imported_apps(path: Path) -> set[str]:
    """Top-level packages a module imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def modules_of(app: str) -> list[Path]:
    return sorted((ROOT / app).rglob("*.py"))


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_imports_point_one_way(app):
    offences = [
        f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}"
        for path in modules_of(app)
        if (bad := imported_apps(path) & FORBIDDEN[app])
    ]
    assert not offences, f"{app} must not import {sorted(FORBIDDEN[app])}:\n" + "\n".join(offences)


def test_the_rule_sees_an_offence(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from dsr.models import Tombstone\n\nimport calls.models\n")
    assert imported_apps(module) == {"dsr", "calls"}


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_every_domain_app_has_the_same_shape(app):
    base = ROOT / app
    missing = [
        f"{name}.py"
        for name in MODULES
        if not (base / f"{name}.py").is_file() and not (base / name / "__init__.py").is_file()
    ]
    missing += [f"{name}/" for name in PACKAGES if not (base / name / "__init__.py").is_file()]
    assert not missing, f"{app} lacks {', '.join(missing)}"


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_no_dashboard_or_erasure_side_modules(app):
    """Dashboard views, forms and selectors live in views/, forms and selectors, not beside them."""
    strays = [
        path.name
        for path in (ROOT / app).glob("*.py")
        if path.stem.startswith(("dashboard_", "erasure_"))
    ]
    assert not strays, f"{app}: fold {', '.join(strays)} into the app's shape"
