"""Does a set of weights fit a model? One check of keys and shapes for converting and loading."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = ["examples", "key_mismatch"]

_SHOW = 8


def examples(items: Sequence[str], show: int = _SHOW) -> str:
    """The first ``show`` items joined by commas, with the total when some are left out."""
    return ", ".join(items[:show]) + (f", ... ({len(items)} in all)" if len(items) > show else "")


def key_mismatch(
    found: Mapping[str, Sequence[int]],
    expected: Mapping[str, Sequence[int]],
    *,
    optional: Iterable[str] = (),
    label: str = "file vs model",
) -> str | None:
    """Name what keeps ``found`` (key -> shape) from fitting ``expected`` exactly.

    Args:
        found: the weights' keys and shapes.
        expected: the model's keys and shapes (``state_dict``).
        optional: expected keys that may be absent (e.g. MANO-derived ones the model builds itself).
        label: how the shape pair is named in the message.

    Returns:
        ``None`` when every expected key (but the optional ones) is there with its shape and nothing
        else is; otherwise one line: ``"N missing: ...; N unexpected: ...; N with the wrong shape
        (file vs model): key [found] vs [expected]"``.
    """
    skip = set(optional)
    missing = sorted(set(expected) - set(found) - skip)
    unexpected = sorted(set(found) - set(expected))
    mismatched = [
        f"{k} {list(found[k])} vs {list(expected[k])}"
        for k in sorted(set(expected) & set(found))
        if tuple(found[k]) != tuple(expected[k])
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {examples(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected: {examples(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} with the wrong shape ({label}): {examples(mismatched)}")
    return "; ".join(problems) or None
