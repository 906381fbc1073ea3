"""One spelling rule for every name handzoo compares: datasets, protocols and metrics.

Each name has one canonical spelling (``ho3d-v2``, ``dexycb-handoccnet``, ``pa_mpjpe``). The one
alias rule: two spellings name the same thing when their *spelling keys* are equal — lower case,
only letters, digits and ``@`` kept, a trailing ``mm`` after ``@N`` dropped — so ``ho3d_v2``,
``HO3D-v2`` and ``ho3dv2`` are all ``ho3d-v2``. Synonyms that differ in more than spelling
(``interhand`` for ``interhand26m``) are listed once, beside their canonical name, by the module
that owns the name (the dataset loaders, the protocol table, :data:`METRIC_NAMES` here).

Nothing here imports anything above :mod:`handzoo.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from handzoo.errors import ConfigError

__all__ = [
    "spelling_key",
    "NameTable",
    "DATASET_NAMES",
    "PROTOCOL_NAMES",
    "METRIC_NAMES",
    "canonical_metric",
]

_NOT_KEPT = re.compile(r"[^a-z0-9@]")
_AT_MM = re.compile(r"(@\d+)mm$")


def spelling_key(name: str) -> str:
    """The key two spellings of one name share: ``'HO3D-v2'`` and ``'ho3d_v2'`` -> ``'ho3dv2'``.

    Lower case, letters, digits and ``@`` only, ``@5mm`` -> ``@5``.
    """
    return _AT_MM.sub(r"\1", _NOT_KEPT.sub("", str(name).lower()))


class NameTable:
    """The canonical names of one kind (datasets, protocols, metrics) and their accepted spellings.

    Args:
        kind: what the names are, for messages (``'dataset'``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._canonical: dict[str, str] = {}  # spelling key -> canonical name
        self._names: list[str] = []

    def add(self, name: str, aliases: Iterable[str] = ()) -> str:
        """Declare a canonical name and its synonyms (idempotent for the same declaration).

        Returns:
            The canonical name.

        Raises:
            ConfigError: when a spelling already names another canonical name.
        """
        for spelling in (name, *aliases):
            key = spelling_key(spelling)
            if not key:
                raise ConfigError(f"empty {self.kind} name {spelling!r}")
            other = self._canonical.get(key)
            if other is not None and other != name:
                raise ConfigError(
                    f"{self.kind} name {spelling!r} already means {other!r}; it cannot also mean {name!r}",
                    hint="pick another name",
                )
        for spelling in (name, *aliases):
            self._canonical[spelling_key(spelling)] = name
        if name not in self._names:
            self._names.append(name)
        return name

    def lookup(self, name: str) -> str | None:
        """The canonical name ``name`` spells, or None when it is not declared."""
        return self._canonical.get(spelling_key(name))

    def canonical(self, name: str) -> str:
        """The canonical name ``name`` spells; an undeclared name comes back as given (stripped)."""
        found = self.lookup(name)
        return found if found is not None else str(name).strip()

    def same(self, a: str, b: str) -> bool:
        """True when ``a`` and ``b`` name the same thing."""
        return spelling_key(self.canonical(a)) == spelling_key(self.canonical(b))

    def names(self) -> list[str]:
        """The canonical names, in declaration order."""
        return list(self._names)

    def spellings(self, name: str) -> list[str]:
        """Spelling keys that resolve to canonical ``name``."""
        return sorted(k for k, v in self._canonical.items() if v == name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.lookup(name) is not None


#: Dataset names; each loader declares its :class:`~handzoo.catalogue.datasets.DatasetSpec` names.
DATASET_NAMES = NameTable("dataset")
#: Protocol names; :mod:`handzoo.protocols` declares its table.
PROTOCOL_NAMES = NameTable("protocol")
#: Metric names: papers' spellings of the metrics the official scripts compute.
METRIC_NAMES = NameTable("metric")

for _name, _aliases in (
    ("pa_mpjpe", ("pajpe", "jpepa", "procrustesmpjpe", "xyzalmean3d", "xyzprocrustesalmean3d", "procrustesmean")),
    ("pa_mpvpe", ("pavpe", "vpepa", "meshalmean3d", "procrustesmpvpe")),
    ("mpjpe", ("jpe", "xyzmean3d", "epe", "mpjperootrelative", "rootrelativempjpe")),
    ("mpvpe", ("vpe", "meshmean3d", "pve")),
    ("f@5", ("fscore@5", "f5", "falscore5", "pafscore5", "fscore5")),
    ("f@15", ("fscore@15", "f15", "falscore15", "pafscore15", "fscore15")),
    ("pa_auc_j", ("jaucpa", "xyzalauc3d", "xyzprocrustesalauc3d", "paauc")),
    ("pa_auc_v", ("vaucpa", "meshalauc3d")),
    ("auc", ("auc050", "auc2050", "3dpckauc")),
    ("mrrpe", ()),
):
    METRIC_NAMES.add(_name, _aliases)


def canonical_metric(name: str) -> str:
    """Canonical metric name (``'PA-MPJPE'`` -> ``'pa_mpjpe'``); an undeclared one -> its spelling key."""
    found = METRIC_NAMES.lookup(name)
    return found if found is not None else spelling_key(name)
