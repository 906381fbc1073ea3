"""Protocol ids: the canonical name of each official evaluation and its other spellings.

:mod:`handzoo.protocols` maps these ids to the classes that compute them; this module is only the
names, so that cards, datasets and the bench can name a protocol without importing it.
"""

from __future__ import annotations

from handzoo.catalogue.names import PROTOCOL_NAMES

__all__ = ["PROTOCOL_IDS", "declare_protocol"]

#: canonical protocol id -> synonyms that differ in more than punctuation and case
PROTOCOL_IDS: dict[str, tuple[str, ...]] = {
    "freihand": (),
    "ho3d-v2": ("ho3d",),
    "ho3d-v3": (),
    "dexycb": ("dexycb-toolkit",),
    "dexycb-handoccnet": (),
    "dexycb-h2onet": (),
    "interhand": ("interhand26m",),
    # 3D PCK/AUC of the 3D-hand paper's own evaluation on STB, Dexter+Object and EgoDexter
    "stb-3dhand": (),
    "dexter-object-3dhand": (),
    "egodexter-3dhand": (),
    # RHD (Zimmermann & Brox 2017): root-relative, scale-normalised 3D PCK/AUC 20-50 mm and EPE
    "rhd": (),
}


def declare_protocol(name: str, aliases: tuple[str, ...] = ()) -> str:
    """Declare a protocol id (plugins registering their own protocols call this)."""
    return PROTOCOL_NAMES.add(name, aliases)


for _name, _aliases in PROTOCOL_IDS.items():
    declare_protocol(_name, _aliases)
