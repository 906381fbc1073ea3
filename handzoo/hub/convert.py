"""Turn an author's original checkpoint into a handzoo safetensors file in the cache.

Steps of :func:`convert_checkpoint`:

1. read the file with ``torch.load(weights_only=True)`` — a pickle that would run code is refused
   (:class:`~handzoo.errors.CheckpointError`); safetensors input is read directly;
2. unwrap it: descend into ``state_dict`` / ``network`` / ``model`` entries, strip the
   ``module.`` (DataParallel) prefix, and a ``model.`` prefix shared by every key;
3. build the variant with random weights and find which of its entries are MANO-derived from
   where they come from (:func:`handzoo.hub.mano_keys.mano_provenance`), never from key names;
4. drop the MANO/SMPL arrays the authors' loader embedded (:func:`~handzoo.hub.mano_keys.authors_mano_keys`,
   the converter's ``MANO_DERIVED_KEYS``), recorded in the provenance;
5. call the method's converter from its plugin's ``handzoo_converters`` hook, and leave out the
   entries of modules holding arrays read from the user's MANO file (rebuilt at every build);
6. require exactly the model's keys, with exactly its shapes (missing or unexpected keys are an
   error: no ``strict=False``);
7. write ``model.safetensors`` + ``provenance.json`` into the cache (atomically), and optionally a
   copy elsewhere, so ``handzoo.load(variant)`` then works offline. The provenance lists the
   MANO-derived keys the local file keeps (declared trained parameters, copies of MANO arrays):
   ``handzoo push`` refuses them.

Converter contract (plugins): ``convert_state_dict(state: dict[str, Tensor], variant: str) ->
dict[str, Tensor]`` mapping the unwrapped original keys to the handzoo model's keys (adding any
buffer the original lacks, e.g. ``num_batches_tracked`` for PyTorch < 0.4 files). Its module
defines ``KEY_MAP_VERSION`` (a string bumped whenever the mapping changes) and may define
``MANO_DERIVED_KEYS`` (fnmatch patterns of the authors' keys holding MANO data, dropped before
the converter runs) and ``MANO_LOCAL_KEYS`` (patterns of the authors' keys that are MANO-derived
but kept, because the converter maps them to a key the model declares in ``mano_derived_keys``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import inspect
import json
import os
import pickle
import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handzoo.catalogue.cards import ModelCard
from handzoo.errors import CheckpointError, HandzooError, PluginError, WeightsError
from handzoo.hub.advice import original_source
from handzoo.hub.cache import WEIGHTS_FILE, place_entry, work_dir
from handzoo.hub.integrity import file_kind, read_safetensors_header, sha256_file
from handzoo.hub.mano_keys import authors_mano_keys, mano_provenance, matching
from handzoo.hub.state_keys import examples, key_mismatch

if TYPE_CHECKING:
    import torch

__all__ = [
    "KEY_MAP_ATTR",
    "ConversionResult",
    "read_checkpoint",
    "unwrap_state_dict",
    "resolve_converter",
    "convert_state",
    "convert_checkpoint",
]

KEY_MAP_ATTR = "KEY_MAP_VERSION"
MANO_PATTERNS_ATTR = "MANO_DERIVED_KEYS"
MANO_LOCAL_ATTR = "MANO_LOCAL_KEYS"
_WRAPPERS = ("state_dict", "network", "model", "model_state_dict", "net")


@dataclass(frozen=True)
class ConversionResult:
    """What :func:`convert_checkpoint` produced.

    Attributes:
        variant: the variant converted.
        path: the cached safetensors file (used by ``handzoo.load``).
        out: the extra copy written with ``out=``, if any.
        sha256: digest of the safetensors file.
        source_sha256: digest of the original checkpoint.
        key_map_version: the converter's ``KEY_MAP_VERSION``.
        num_tensors: tensors written.
        dropped_keys: MANO/SMPL arrays removed from the original.
        mano_derived_keys: keys of the result that hold MANO-derived data (kept in the local file;
            ``handzoo push`` refuses them).
        provenance: the provenance record written next to the file.
    """

    variant: str
    path: Path
    out: Path | None
    sha256: str
    source_sha256: str
    key_map_version: str | None
    num_tensors: int
    dropped_keys: list[str] = field(default_factory=list)
    mano_derived_keys: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)


def read_checkpoint(path: str | Path) -> Any:
    """Read a checkpoint without executing code: safetensors, or ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: missing file, a pickle that needs arbitrary code, truncated/corrupt data.
    """
    import torch

    p = Path(path)
    _check_source(p, "check the path")
    try:
        read_safetensors_header(p)
    except WeightsError as exc:
        if _looks_like_safetensors(p):  # a safetensors file with a bad header: say why, do not unpickle it
            raise CheckpointError(f"cannot read {p.name}: {exc.message}", hint=exc.hint) from None
    else:
        from safetensors.torch import load_file

        try:
            return load_file(str(p), device="cpu")
        except Exception as exc:  # noqa: BLE001 - the Rust reader's errors are not handzoo errors
            raise CheckpointError(
                f"cannot read {p.name} as safetensors ({type(exc).__name__}: {str(exc)[:200]})",
                hint="the file is corrupt or crafted; download it again",
            ) from None
    try:
        with warnings.catch_warnings():  # torch's remarks on odd pickle protocols: the error below says it
            warnings.simplefilter("ignore", UserWarning)
            try:
                return torch.load(p, map_location="cpu", weights_only=True)
            except UnicodeDecodeError:  # Python 2 era pickles (e.g. PyTorch 0.3 checkpoints)
                return torch.load(p, map_location="cpu", weights_only=True, encoding="latin1")
    except pickle.UnpicklingError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        code = next((ln for ln in lines if "GLOBAL" in ln), None)
        if code is not None:
            raise CheckpointError(
                f"refused to read {p.name}: it is a pickle that would run code or create Python objects other "
                f"than tensors and plain containers ({code[:200]})",
                hint="handzoo never executes code from checkpoints; make sure this is the authors' original file "
                "(see `handzoo info VARIANT`)",
            ) from None
        detail = next((ln for ln in reversed(lines[1:]) if not ln.startswith("Check the documentation")), "")
        raise CheckpointError(
            f"cannot read {p.name} as a PyTorch checkpoint (unpickling failed: {detail[:200] or 'corrupt data'})",
            hint="the file is truncated, corrupt or in another format; download it again",
        ) from None
    except HandzooError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise CheckpointError(
            f"cannot read {p.name}: {type(exc).__name__} while unpickling (crafted or corrupt file)",
            hint="make sure this is the authors' original file and download it again",
        ) from None
    except Exception as exc:  # noqa: BLE001 - torch.load fails in many ways on foreign bytes
        raise CheckpointError(
            f"cannot read {p.name} as a PyTorch checkpoint ({type(exc).__name__}: {str(exc)[:200]})",
            hint="the file is truncated, corrupt or in another format; download it again",
        ) from None


def _check_source(p: Path, hint: str) -> None:
    """Refuse a checkpoint path that is not a regular file, saying what it is."""
    kind = file_kind(p)
    if kind is None:
        return
    if kind.startswith("missing"):
        raise CheckpointError(f"checkpoint {p} does not exist" + kind[len("missing") :], hint=hint)
    raise CheckpointError(f"checkpoint {p} is {kind}, not a checkpoint file", hint=hint)


def _looks_like_safetensors(p: Path) -> bool:
    if p.suffix.lower() == ".safetensors":
        return True
    try:
        with p.open("rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{"


def _nonfinite_keys(tensors: Mapping[str, Any]) -> list[str]:
    import torch

    return sorted(k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all()))


def _is_tensor(v: Any) -> bool:
    import torch

    return isinstance(v, torch.Tensor)


def unwrap_state_dict(obj: Any) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Find the state dict in a checkpoint object and strip wrapper prefixes.

    Returns:
        ``(state, ignored)``: tensors by key, and the keys of non-tensor entries that were left out.

    Raises:
        CheckpointError: no state dict inside, or prefix stripping makes two keys collide.
    """
    # PyTorch Lightning keeps a tensor (the best monitored score) next to 'state_dict'
    sd = obj.get("state_dict") if isinstance(obj, Mapping) else None
    if isinstance(sd, Mapping) and any(_is_tensor(v) for v in sd.values()):
        obj = sd
    while isinstance(obj, Mapping) and not any(_is_tensor(v) for v in obj.values()):
        inner = next((obj[k] for k in _WRAPPERS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping) or not any(_is_tensor(v) for v in obj.values()):
        top = ", ".join(map(str, list(obj)[:10])) if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(
            f"no state dict found in the checkpoint (top level: {top})",
            hint="expected tensors directly or under 'state_dict', 'network' or 'model'",
        )
    ignored = sorted(str(k) for k, v in obj.items() if not _is_tensor(v))
    import torch

    for k, v in obj.items():
        if _is_tensor(v) and (v.layout != torch.strided or v.is_quantized or v.is_meta):
            kind = "quantized" if v.is_quantized else ("meta (no data)" if v.is_meta else f"{v.layout}")
            raise CheckpointError(
                f"tensor {k!r} in the checkpoint is {kind}; handzoo converts dense tensors only",
                hint="convert it to a dense tensor (tensor.to_dense()) and save the checkpoint again",
            )
    state: dict[str, Any] = {}
    for k, v in obj.items():
        if not _is_tensor(v):
            continue
        key = str(k)
        while key.startswith("module."):
            key = key[len("module.") :]
        if key in state:
            raise CheckpointError(f"key {k!r} collides with another after removing the 'module.' prefix")
        state[key] = v
    if state and all(k.startswith("model.") for k in state):
        state = {k[len("model.") :]: v for k, v in state.items()}
    return state, ignored


def resolve_converter(method: str) -> tuple[Callable[..., Any], str | None, str, tuple[str, ...]]:
    """The converter a plugin registered for a method.

    Returns:
        ``(function, key_map_version, reference, mano_patterns)``.

    Raises:
        CheckpointError: no plugin provides a converter for the method.
        PluginError: the registered reference cannot be imported.
    """
    from handzoo.plugins import get_plugin_manager

    conv = get_plugin_manager().converters().get(method)
    if conv is None:
        raise CheckpointError(
            f"no checkpoint converter is registered for method {method!r}",
            hint="its plugin does not provide one (`handzoo plugins` lists the converters)",
        )
    if isinstance(conv, str):
        modname, _, attr = conv.partition(":")
        try:
            fn = getattr(importlib.import_module(modname), attr)
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"converter {conv!r} for {method!r} cannot be loaded: {exc}") from None
        ref = conv
    else:
        fn = conv
        ref = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
    if not callable(fn):
        raise PluginError(f"converter {ref!r} for {method!r} is not callable")
    module = inspect.getmodule(fn)
    version = getattr(fn, KEY_MAP_ATTR, None) or getattr(module, KEY_MAP_ATTR, None)
    patterns = tuple(getattr(fn, MANO_PATTERNS_ATTR, ()) or getattr(module, MANO_PATTERNS_ATTR, ()) or ())
    return fn, (str(version) if version is not None else None), ref, patterns


def _check_against_model(tensors: Mapping[str, Any], expected: Mapping[str, Any], variant: str) -> None:
    problems = key_mismatch(
        {k: tuple(v.shape) for k, v in tensors.items()},
        {k: tuple(v.shape) for k, v in expected.items()},
        label="converted vs model",
    )
    if problems:
        raise CheckpointError(
            f"the converted checkpoint does not match the {variant} model: {problems}",
            hint=f"is this the checkpoint of {variant}? If it is, the plugin's key map needs updating",
        )


def convert_state(
    card: ModelCard, state: dict[str, torch.Tensor], *, allow_nonfinite: bool = False, **build_kwargs: Any
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Map an unwrapped original state dict to the variant's model keys and check it.

    What is MANO-derived is decided by provenance (:mod:`handzoo.hub.mano_keys`): the model is
    built first, and its modules say which entries come from the user's MANO file; in the
    authors' file, the embedded MANO loader's buffers and the converter's ``MANO_DERIVED_KEYS``
    are dropped. A plugin's own hand-model arrays (e.g. the open hand's ``hand.v_template``) are
    ordinary weights.

    Args:
        card: the variant's card.
        state: the unwrapped original state dict.
        allow_nonfinite: keep tensors holding NaN or infinite values (research use; refused by default).
        **build_kwargs: architecture overrides for building the model.

    Returns:
        ``(tensors, info)``: the checked state dict (dtypes as the model's, contiguous, unshared)
        and what was done (converter, key map version, dropped keys, MANO-derived keys kept).

    Raises:
        CheckpointError: key/shape/dtype mismatch, or NaN/Inf values without ``allow_nonfinite``.
    """
    fn, version, ref, conv_patterns = resolve_converter(card.method)
    card_patterns = card.weights.mano_derived_keys
    from handzoo.hub.load import build_model

    model = build_model(card, **build_kwargs)
    expected = model.state_dict()
    prov = mano_provenance(model, card_patterns)
    # the authors' embedded MANO data: what the converter declares, and the arrays of a MANO loader
    # (or matching the card's patterns) that the model has no place for
    local = tuple(getattr(inspect.getmodule(fn), MANO_LOCAL_ATTR, ()) or ())
    candidates = set(matching(state, conv_patterns)) | {
        k for k in authors_mano_keys(state, card_patterns) if k not in expected
    }
    dropped = sorted(k for k in candidates if not matching([k], local))
    state = {k: v for k, v in state.items() if k not in set(dropped)}
    try:
        mapped = fn(state, card.name)
    except HandzooError:
        raise
    except Exception as exc:
        raise CheckpointError(
            f"the {card.method} converter ({ref}) failed: {type(exc).__name__}: {str(exc)[:300]}",
            hint=f"is this the checkpoint of {card.name}? Expected: {original_source(card)}",
        ) from None
    if not isinstance(mapped, Mapping) or not all(isinstance(k, str) and _is_tensor(v) for k, v in mapped.items()):
        raise PluginError(f"converter {ref} did not return a dict of str -> Tensor")
    # arrays of modules built from the user's MANO file are rebuilt at every build: never stored
    rebuilt = sorted(set(prov.from_file) - set(prov.declared))
    dropped += sorted(k for k in rebuilt if k in mapped and k not in set(dropped))
    mapped = {k: v for k, v in mapped.items() if k not in set(rebuilt)}
    try:
        _check_against_model(mapped, expected, card.name)
    except CheckpointError as exc:
        held = [k for k in rebuilt if k in expected]
        if held:
            exc.hint = (
                f"{card.name} keeps arrays read from the user's MANO file as weights ({examples(held)}); a "
                "converted file never holds them: register them with register_buffer(..., persistent=False) "
                "(see CONTRIBUTING.md, 'MANO-derived data')"
            )
        raise
    tensors = {}
    for k, v in mapped.items():
        target = expected[k]
        if v.dtype != target.dtype and (v.is_floating_point() == target.is_floating_point()):
            v = v.to(target.dtype)
        elif v.dtype != target.dtype:
            raise CheckpointError(f"tensor {k} has dtype {v.dtype}, the model expects {target.dtype}")
        tensors[k] = v.detach().to("cpu").contiguous().clone()
    nonfinite = _nonfinite_keys(tensors)
    if nonfinite and not allow_nonfinite:
        raise CheckpointError(
            f"{len(nonfinite)} tensors of the checkpoint hold NaN or infinite values ({examples(nonfinite)})",
            hint="the checkpoint is corrupt or diverged; pass --allow-nonfinite (allow_nonfinite=True) to convert "
            "it anyway for research",
        )
    model.load_state_dict(tensors, strict=True)
    info = {
        "nonfinite_keys": nonfinite,
        "converter": ref,
        "key_map_version": version,
        "dropped_keys": dropped,
        "mano_derived_keys": prov.flagged(tensors),
    }
    return tensors, info


def _out_path(out: str | Path, variant: str) -> Path:
    if not isinstance(out, (str, os.PathLike)):
        raise CheckpointError(f"out must be a path, not {type(out).__name__}")
    p = Path(out).expanduser()
    return p / f"{variant}.safetensors" if p.is_dir() else p


def sidecar_path(dst: Path) -> Path:
    """Where the provenance of a copy written to ``dst`` goes; never ``dst`` itself."""
    side = dst.with_suffix(".json")
    return side if side != dst else dst.with_name(f"{dst.name[: -len('.json')]}.provenance.json")


def _check_out(dst: Path) -> None:
    """Refuse an ``out`` target that cannot safely receive a regular file (before any work is done)."""
    hint = "pass a file path in a writable directory, or a directory (e.g. -o out/)"
    for target, what in ((dst, "output"), (sidecar_path(dst), "provenance file")):
        kind = file_kind(target)
        if kind is not None and not kind.startswith("missing"):
            raise CheckpointError(f"{what} {target} is {kind}: refusing to replace it with a file", hint=hint)
    parent = dst.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise CheckpointError(f"cannot write {dst}: {parent} is a file, not a directory", hint=hint)


def convert_checkpoint(
    variant: str | ModelCard,
    path: str | Path,
    out: str | Path | None = None,
    *,
    allow_nonfinite: bool = False,
    **build_kwargs: Any,
) -> ConversionResult:
    """Convert an author's checkpoint for ``variant`` into the cache (and optionally ``out``).

    Args:
        variant: the variant name (or its card).
        path: the original checkpoint file (``.pth``, ``.pt``, ``.pth.tar``, or safetensors).
        out: also write the safetensors file here (a file path, or a directory); its provenance
            goes beside it with the suffix ``.json`` (``NAME.provenance.json`` when ``out`` itself ends
            in ``.json``, so the two never collide). A target that exists and is not a regular file
            (a device node, a FIFO) is refused.
        allow_nonfinite: convert even if tensors hold NaN or infinite values (refused by default; a
            refused conversion leaves any cached entry untouched).
        **build_kwargs: architecture overrides used to build the model for the shape check.

    Returns:
        A :class:`ConversionResult`.

    Raises:
        CheckpointError: unreadable or unsafe file, unknown layout, key or shape mismatch.
    """
    from safetensors.torch import save_file

    from handzoo._version import __version__
    from handzoo.hub.load import model_card

    if not isinstance(path, (str, os.PathLike)):
        raise CheckpointError(f"checkpoint must be a path, not {type(path).__name__}")
    card = model_card(variant)
    src = Path(path).expanduser()
    _check_source(src, f"download {original_source(card)}")
    out_path = _out_path(out, card.name) if out is not None else None
    if out_path is not None:
        _check_out(out_path)
    source_sha = sha256_file(src)
    known = (card.original or {}).get("sha256")
    if known and known != source_sha:
        raise CheckpointError(
            f"{src.name} is not the checkpoint the card of {card.name} describes (sha256 {source_sha[:12]}... "
            f"!= {known[:12]}...)",
            hint=f"download {original_source(card)}",
        )
    state, ignored = unwrap_state_dict(read_checkpoint(src))
    tensors, info = convert_state(card, state, allow_nonfinite=allow_nonfinite, **build_kwargs)
    # one metadata entry: safetensors writes the metadata map in random order, and conversions
    # must be byte-for-byte reproducible (the same source file gives the same sha256)
    described = {"variant": card.name, "key_map_version": info["key_map_version"], "source_sha256": source_sha}
    metadata = {"handzoo": json.dumps(described, sort_keys=True)}
    provenance = {
        "source": {"kind": "convert", "file": src.name, "sha256": source_sha, "size": src.stat().st_size},
        "method": card.method,
        **info,
        "ignored_entries": ignored,
        "build_kwargs": {k: v for k, v in build_kwargs.items() if isinstance(v, (str, int, float, bool, type(None)))},
        "handzoo_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    with work_dir() as wd:
        staged = wd / WEIGHTS_FILE
        save_file(tensors, str(staged), metadata=metadata)
        digest = sha256_file(staged)
        if out_path is not None:
            _write_copy(staged, out_path, {**provenance, "file": out_path.name, "sha256": digest})
        entry = place_entry(card.name, staged, provenance, sha256=digest)
    return ConversionResult(
        variant=card.name,
        path=entry.path,
        out=out_path,
        sha256=digest,
        source_sha256=source_sha,
        key_map_version=info["key_map_version"],
        num_tensors=len(tensors),
        dropped_keys=info["dropped_keys"],
        mano_derived_keys=info["mano_derived_keys"],
        provenance=entry.provenance,
    )


def _write_copy(src: Path, dst: Path, provenance: dict[str, Any]) -> None:
    """Copy the file to ``dst`` (+ ``dst.json``) through temporary names, so no partial file remains."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.partial")
    sidecar = sidecar_path(dst)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        tmp.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, sidecar)
    except OSError as exc:
        raise WeightsError(
            f"cannot write the copy {dst}: {exc.strerror or exc}",
            hint="choose another -o path (the cached weights were not changed)",
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
