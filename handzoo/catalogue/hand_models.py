"""Hand models as catalogue entries: their names, licences and where their files come from.

A card's ``hand_model`` names one of these. The MANO files are the user's (never shipped, never
derived into the repository); the open hand ships with handzoo.
"""

from __future__ import annotations

from dataclasses import dataclass

from handzoo.catalogue.names import NameTable

__all__ = ["MANO_URL", "MANO_ENV", "HandModelSpec", "HAND_MODEL_NAMES", "HAND_MODELS", "hand_model_spec"]

MANO_URL = "https://mano.is.tue.mpg.de"
MANO_ENV = "HANDZOO_MANO_DIR"


@dataclass(frozen=True)
class HandModelSpec:
    """One parametric hand model.

    Attributes:
        name: canonical name (``mano``, ``openhand``), as ``handzoo.registry.HAND_MODELS`` and
            cards name it.
        title: display name.
        licence: the licence of its files.
        user_files: True when the user must download the files (MANO); False when they ship.
        url: where to get the files (``""`` when they ship).
        env_var: variable naming the folder of the user's files (None when they ship).
    """

    name: str
    title: str
    licence: str
    user_files: bool
    url: str = ""
    env_var: str | None = None


HAND_MODEL_NAMES = NameTable("hand model")
HAND_MODELS: dict[str, HandModelSpec] = {
    s.name: s
    for s in (
        HandModelSpec(
            "mano", "MANO", "MANO licence (non-commercial research; each user registers)", True, MANO_URL, MANO_ENV
        ),
        HandModelSpec("openhand", "open hand (MANO layout, ships with handzoo)", "apache-2.0", False),
    )
}
for _name in HAND_MODELS:
    HAND_MODEL_NAMES.add(_name)


def hand_model_spec(name: str | None) -> HandModelSpec | None:
    """The spec of hand model ``name`` (any spelling), or None for no or an unknown hand model."""
    if not name:
        return None
    canonical = HAND_MODEL_NAMES.lookup(name)
    return HAND_MODELS.get(canonical) if canonical is not None else None
