"""A bad third-party card is isolated like a bad plugin; card text is printed as plain text."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hub_tiny import TINY, TINY_VARIANT, TinyPlugin, tiny_card, tiny_convert

import handzoo
from handzoo.catalogue.card_checks import MAX_CARD_BYTES, card_field_problems
from handzoo.catalogue.cards import load_card, parse_card, render_card
from handzoo.cli import main
from handzoo.errors import ConfigError
from handzoo.hookspecs import hookimpl
from handzoo.hub.convert import convert_checkpoint
from handzoo.plugins import PluginManager


class CardFilesPlugin:
    """A third-party plugin that only ships card files."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = paths

    @hookimpl
    def handzoo_model_cards(self) -> list[str]:
        return [str(p) for p in self._paths]


def _front(variant: str = "tiny-thirdparty") -> dict[str, Any]:
    card = tiny_card(variant)
    return {**card.metadata, "handzoo": {"variant": card.name, "method": card.method, **card.fields}}


def _write(tmp_path: Path, front: dict[str, Any] | str, name: str = "card.md") -> Path:
    text = front if isinstance(front, str) else "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\nBody.\n"
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def zoo_with(fresh_plugins):
    """Install the good tiny plugin plus a third-party plugin shipping the given card files."""

    def install(paths: list[Path]) -> PluginManager:
        pm = PluginManager(autoload=False, extra=[], entry_points=[])
        pm.register(TinyPlugin([tiny_card()], tiny_convert), name=TINY)
        pm.register(CardFilesPlugin(paths), name="thirdparty")
        fresh_plugins(pm)
        return pm

    return install


def _edit(**handzoo_fields: Any) -> dict[str, Any]:
    front = _front()
    for k, v in handzoo_fields.items():
        if v is _DROP:
            front["handzoo"].pop(k)
        else:
            front["handzoo"][k] = v
    return front


_DROP = object()

BAD_FIELDS = {
    "weights-string": {"weights": "abc"},
    "paper-string": {"paper": "a paper"},
    "results-number": {"results": 5},
    "input-number": {"input": 3},
    "hub-only-repo": {"weights": {"hub": {"repo_id": "a/b"}, "original": None}},
    "original-without-url": {"weights": {"hub": None, "original": {"format": "pth"}}},
    "variant-escapes": {"variant": "../../x"},
    "variant-space": {"variant": "tiny-with space"},
    "hub-repo-dotdot": {
        "weights": {
            "hub": {"repo_id": "a/..", "filename": "m.safetensors", "revision": "0" * 40, "sha256": "0" * 64},
            "original": None,
        }
    },
    "hub-without-sha256": {
        "weights": {"hub": {"repo_id": "a/b", "filename": "m.safetensors", "revision": "0" * 40}, "original": None}
    },
    "result-value-string": {
        "results": [{"dataset": "d", "protocol": "p", "metric": "m", "value": "1", "unit": "mm", "source": "s"}]
    },
    "architecture-list": {"architecture": ["TinyMethod"]},
    "status-bogus": {"status": "maybe"},
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_bad_card_is_isolated(zoo_with, tmp_path, case, capsys, original_checkpoint):
    pm = zoo_with([_write(tmp_path, _edit(**BAD_FIELDS[case]))])
    assert sorted(pm.cards()) == [TINY_VARIANT]  # only the good one
    info = next(i for i in pm.plugins() if i.name == "thirdparty")
    assert info.errors and "invalid" in info.errors[0]

    # every command on the other models keeps working
    assert main(["list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == [TINY_VARIANT]
    assert main(["info", TINY_VARIANT, "--json"]) == 0
    capsys.readouterr()
    assert handzoo.load(TINY_VARIANT, pretrained=False).card.name == TINY_VARIANT
    assert convert_checkpoint(TINY_VARIANT, original_checkpoint).num_tensors > 0
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert "invalid" in json.dumps(listed["thirdparty"])


def test_card_error_names_the_file_and_field(tmp_path):
    p = _write(tmp_path, _edit(results=5))
    card = load_card(p)
    problems = card_field_problems(card.metadata, card.fields)
    assert problems == ["handzoo/results: expected array, got 5"]


def test_yaml_aliases_are_refused(tmp_path, zoo_with, capsys):
    lol = "\n".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9))
    text = (
        "---\nlicense: mit\nl0: &l0 'lol'\n" + lol + "\nhandzoo:\n  variant: tiny-lol\n  method: tiny\n"
        "  summary: *l8\n---\n\nBody.\n"
    )
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="aliases"):
        load_card(p)
    pm = zoo_with([p])
    assert sorted(pm.cards()) == [TINY_VARIANT]
    assert main(["info", TINY_VARIANT, "--json"]) == 0


def test_oversized_card_is_refused(tmp_path):
    front = _front()
    front["handzoo"]["summary"] = "x" * (MAX_CARD_BYTES + 10)
    with pytest.raises(ConfigError, match="larger than"):
        load_card(_write(tmp_path, front))


def test_deeply_nested_card_is_refused(tmp_path):
    text = "---\nhandzoo:\n  variant: tiny-deep\n  method: tiny\n  architecture: " + "[" * 5000 + "]" * 5000 + "\n---\n"
    with pytest.raises(ConfigError):
        parse_card(text)


def test_shipped_and_tiny_cards_pass_the_load_checks():
    card = tiny_card()
    assert card_field_problems(card.metadata, card.fields) == []
    from handzoo.plugins import get_plugin_manager

    for info in get_plugin_manager().plugins():
        assert not any("invalid" in e for e in info.errors), info.errors


def test_card_text_is_plain_text_not_markup(zoo_with, tmp_path, capsys):
    front = _front()
    front["handzoo"]["summary"] = "[red]RED[/red] [link=https://evil.example]click[/link] \x1b]8;;https://x\x1b\\y"
    front["handzoo"]["paper"] = {"title": "[bold]T[/bold]"}
    bad = _front("tiny-bad")
    bad["handzoo"]["results"] = "[blink]oops[/blink]"
    zoo_with([_write(tmp_path, front), _write(tmp_path, bad, "bad.md")])
    assert main(["info", "tiny-thirdparty"]) == 0
    out = capsys.readouterr().out
    assert "[red]RED[/red]" in out and "[link=https://evil.example]click[/link]" in out and "[bold]T[/bold]" in out
    assert "\x1b" not in out
    assert main(["plugins"]) == 0  # the bad card's error quotes its text: shown as is
    out = capsys.readouterr().out
    assert "[blink]oops[/blink]" in "".join(out.split()) or "[blink]oops" in out


def test_round_trip_of_a_valid_card_still_passes():
    card = tiny_card()
    again = parse_card(render_card(card))
    assert card_field_problems(again.metadata, again.fields) == []
    front = copy.deepcopy(_front())
    assert card_field_problems({k: v for k, v in front.items() if k != "handzoo"}, front["handzoo"]) == []
