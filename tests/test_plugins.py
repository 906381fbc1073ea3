"""Plugin discovery, autoload policy and error isolation."""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata

import pytest

from handzoo.plugins import PluginManager

CARD = """---
license: mit
library_name: handzoo
handzoo:
  variant: {variant}
  method: {method}
  architecture: {{type: {cls}}}
---
prose
"""

GOOD = """
from pathlib import Path
from handzoo.hookspecs import hookimpl
__version__ = "1.2.3"

@hookimpl
def handzoo_model_cards():
    return sorted(Path(__file__).with_name("{name}_cards").glob("*.md"))

@hookimpl
def handzoo_register(registries):
    from torch import nn
    class {cls}(nn.Module):
        def __init__(self):
            super().__init__()
    registries.METHODS.register_module(module={cls})
"""


def _write_plugin(root, name, variants, cls="Net", body=GOOD):
    (root / f"{name}.py").write_text(textwrap.dedent(body.format(name=name, cls=cls)))
    cards = root / f"{name}_cards"
    cards.mkdir()
    for v in variants:
        (cards / f"{v}.md").write_text(CARD.format(variant=v, method=name, cls=cls))
    return metadata.EntryPoint(name=name, value=name, group="handzoo")


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for mod in [m for m in sys.modules if m.startswith(("goodplug", "badplug", "dupplug", "other"))]:
        del sys.modules[mod]


def test_good_plugin_provides_cards_and_version(plugin_dir):
    ep = _write_plugin(plugin_dir, "goodplug", ["good-a", "good-b"])
    pm = PluginManager(autoload=True, extra=[], entry_points=[ep])
    assert sorted(pm.cards()) == ["good-a", "good-b"]
    info = pm.get("goodplug")
    assert info.ok and info.version == "1.2.3" and info.variants == ["good-a", "good-b"]
    assert pm.cards()["good-a"].plugin == "goodplug"


def test_import_error_is_isolated(plugin_dir):
    good = _write_plugin(plugin_dir, "goodplug", ["good-a"])
    (plugin_dir / "badplug.py").write_text("raise ImportError('needs libfoo')\n")
    bad = metadata.EntryPoint(name="badplug", value="badplug", group="handzoo")
    pm = PluginManager(autoload=True, extra=[], entry_points=[bad, good])
    assert list(pm.cards()) == ["good-a"]
    infos = {i.name: i for i in pm.plugins()}
    assert not infos["badplug"].ok
    assert "needs libfoo" in infos["badplug"].errors[0]
    assert infos["goodplug"].ok


def test_duplicate_variant_is_reported_not_fatal(plugin_dir):
    a = _write_plugin(plugin_dir, "goodplug", ["shared-name"], cls="NetA")
    b = _write_plugin(plugin_dir, "dupplug", ["shared-name", "dup-own"], cls="NetB")
    pm = PluginManager(autoload=True, extra=[], entry_points=[b, a])
    cards = pm.cards()
    assert set(cards) == {"shared-name", "dup-own"}
    assert cards["shared-name"].plugin == "dupplug"  # first by name order wins (both third-party)
    errs = pm.get("goodplug").errors
    assert errs and "already provided by plugin 'dupplug'" in errs[0]


def test_duplicate_registered_class_is_reported(plugin_dir, fresh_plugins):
    import handzoo.registry as registries

    a = _write_plugin(plugin_dir, "goodplug", ["good-a"], cls="SameName")
    b = _write_plugin(plugin_dir, "dupplug", ["dup-a"], cls="SameName")
    pm = PluginManager(autoload=True, extra=[], entry_points=[a, b])
    fresh_plugins(pm)
    registries.ensure_registered()
    infos = {i.name: i for i in pm.plugins()}
    assert infos["dupplug"].registered == {"METHODS": ["SameName"]}
    assert any("handzoo_register failed" in e for e in infos["goodplug"].errors)


def test_disabled_autoload_loads_only_named(plugin_dir):
    a = _write_plugin(plugin_dir, "goodplug", ["good-a"])
    b = _write_plugin(plugin_dir, "other", ["other-a"])
    pm = PluginManager(autoload=False, extra=["other"], entry_points=[a, b])
    assert list(pm.cards()) == ["other-a"]
    assert [i.name for i in pm.plugins()] == ["other"]


def test_env_policy(plugin_dir, monkeypatch):
    a = _write_plugin(plugin_dir, "goodplug", ["good-a"])
    monkeypatch.setenv("HANDZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("HANDZOO_PLUGINS", raising=False)
    assert PluginManager(entry_points=[a]).cards() == {}
    monkeypatch.setenv("HANDZOO_PLUGINS", "goodplug")
    assert list(PluginManager(entry_points=[a]).cards()) == ["good-a"]


def test_module_path_plugin_without_entry_point(plugin_dir):
    _write_plugin(plugin_dir, "goodplug", ["good-a"])
    pm = PluginManager(autoload=True, extra=["goodplug"], entry_points=[])
    assert list(pm.cards()) == ["good-a"]
    missing = PluginManager(autoload=False, extra=["no_such_plugin_mod"], entry_points=[])
    assert "No module named" in missing.plugins()[0].errors[0]


def test_bad_card_is_reported(plugin_dir):
    ep = _write_plugin(plugin_dir, "goodplug", ["good-a"])
    (plugin_dir / "goodplug_cards" / "broken.md").write_text("no front matter")
    pm = PluginManager(autoload=True, extra=[], entry_points=[ep])
    assert list(pm.cards()) == ["good-a"]
    assert "front matter" in pm.get("goodplug").errors[0]


def test_builtin_plugins_load_without_error():
    pm = PluginManager(autoload=True, extra=[])
    infos = {i.name: i for i in pm.plugins() if i.builtin}
    assert set(infos) >= {"smhr", "h2onet", "hand4whole", "digit", "3dhand"}
    for info in infos.values():
        assert info.ok, info.errors
        assert info.variants, info.name
