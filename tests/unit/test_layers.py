"""The direction of imports between the apps: a lower app never imports a higher one. A use case that
spans two apps lives in the higher one (intake and stocktake live in orders, above inventory)."""

import ast
from pathlib import Path

import pytest

import zhongshu

SRC = Path(zhongshu.__file__).parent

# app → apps it must not import (directly or from any of its modules)
BELOW = {
    "core": {"webhooks", "shipping", "peak"},
    "shops": {"channels", "orders", "inventory", "routing", "rules", "webhooks", "shipping", "peak"},
    "catalog": {
        "shops",
        "channels",
        "orders",
        "inventory",
        "routing",
        "rules",
        "webhooks",
        "shipping",
        "peak",
    },
    "inventory": {"shops", "channels", "orders", "rules", "webhooks", "shipping", "peak"},
    # a shop is below orders (shops); connecting it to its platform is above
    "orders": {"channels", "fulfilment", "shipping", "webhooks", "peak"},
    "rules": {"webhooks", "shipping", "peak"},
    "channels": {"webhooks", "shipping", "peak"},
    # the floor reads a package's waybill through the relation only; webhooks sit above the floor
    "fulfilment": {"webhooks", "shipping", "peak"},
    "shipping": {"webhooks", "peak"},
    # degradation and promotion mode sit above the flow; webhooks and monitor read its switches through
    # core.degrade, never by importing it
    "peak": {"webhooks", "monitor"},
    "webhooks": {"peak"},
    "monitor": {"peak"},
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("app", sorted(BELOW))
def test_app_imports_nothing_from_the_apps_above_it(app):
    above = {f"zhongshu.{name}" for name in BELOW[app]}
    wrong = sorted(
        f"{path.relative_to(SRC)}: {module}"
        for path in (SRC / app).rglob("*.py")
        for module in imported_modules(path)
        if any(module == a or module.startswith(a + ".") for a in above)
    )
    assert wrong == []


@pytest.mark.parametrize("app", sorted(BELOW))
def test_app_models_point_at_no_model_above_it(app):
    """Foreign keys name models as "app.Model" strings, which are no imports."""
    wrong = sorted(
        f"{path.relative_to(SRC)}: {node.value}"
        for path in (SRC / app).glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.split(".")[0] in BELOW[app]
        and node.value.count(".") == 1
        and node.value.split(".")[1][:1].isupper()
    )
    assert wrong == []


def test_the_check_sees_an_import_from_above(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from zhongshu.orders.services import stocktake\nimport zhongshu.channels.models\n")
    assert imported_modules(module) == {"zhongshu.orders.services", "zhongshu.channels.models"}
