"""The README's "Testing with pytest" example, as it is printed there (tests/test_pytest_plugin.py
checks that the two stay the same)."""

import pytest

from runner import assert_edge_compatible

pytestmark = pytest.mark.modrun(root="examples/shop")


def test_the_home_page_lists_the_products(modrun_import):
    shop = modrun_import("/src/main.js")
    page = shop.default("/")
    assert page["html"].startswith("<h1>modrun shop</h1>")
    assert page["count"] == 4


def test_the_shop_runs_on_the_edge(modrun_root):
    assert_edge_compatible("src/main.js", root=modrun_root, run=True, call="default", args=["/"])
