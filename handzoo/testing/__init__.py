"""Test helpers for handzoo and for plugin authors, like ``numpy.testing``: nothing here runs in production.

Stand-ins and helpers, each hermetic (no network, files only under the folder you pass):

* **A stand-in Hugging Face Hub** (:mod:`handzoo.testing.hub`): :class:`StandInHub` serves and
  accepts files on 127.0.0.1 the way ``huggingface_hub`` expects, with injectable faults
  (truncated, corrupt, interrupted, hanging transfers, HTTP 500); :func:`free_port_url` is a URL
  where nothing listens (to test offline behaviour)::

      from handzoo.testing import StandInHub
      with StandInHub() as hub:
          monkeypatch.setenv("HF_ENDPOINT", hub.url)
          hub.add_file("org/my-variant", "model.safetensors", data)
          ...  # handzoo.load / handzoo push against it

* **Official-layout dataset stand-ins** (:mod:`handzoo.testing.datasets`): ``write_freihand``,
  ``write_ho3d``, ``write_dexycb``, ``write_dexycb_handoccnet``, ``write_interhand``, ``write_rhd``,
  ``write_dexter_object``, ``write_egodexter``
  write a few samples in each dataset's own release layout (file names, formats, frames, units,
  joint orders) and return what a correct loader yields in handzoo conventions::

      from handzoo.testing import write_freihand
      expected = write_freihand(tmp_path, split="evaluation")
      ds = handzoo.datasets.load_dataset("freihand", root=tmp_path, split="evaluation")

* **MANO-format stand-ins** (:mod:`handzoo.testing.mano`): :func:`write_mano_standin` writes
  random ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` with the official keys, shapes and types, never
  MANO's data, for testing code that reads the user's MANO files (``mano_dir=``).

* **Device readiness** (:mod:`handzoo.testing.device`): :func:`host_ops_of_forward` lists the ops of
  a forward that would create host tensors or sync with the host (run on the ``meta`` device), so
  CUDA-graph capturability is tested without a GPU; :func:`assert_cuda_graph_replay_equals_eager`
  checks a captured forward on a CUDA device.

* **Short training runs** (:mod:`handzoo.testing.train`): :func:`short_run_args` builds the
  ``handzoo-train`` command line of a few-iteration CPU run (no workers, no validation), and
  :func:`shards_source` the ``--cfg-options`` item that reads a shard folder.

Names are imported on first use, so ``import handzoo.testing`` is cheap.
"""

from __future__ import annotations

from handzoo._lazy import lazy_getattr

_SUBMODULES = ("hub", "datasets", "mano", "device", "train")

_LAZY: dict[str, str] = {
    "StandInHub": "hub",
    "Fault": "hub",
    "free_port_url": "hub",
    "write_freihand": "datasets",
    "write_ho3d": "datasets",
    "write_dexycb": "datasets",
    "write_dexycb_handoccnet": "datasets",
    "write_interhand": "datasets",
    "write_rhd": "datasets",
    "write_dexter_object": "datasets",
    "write_egodexter": "datasets",
    "expected_image": "datasets",
    "random_hand": "datasets",
    "mano_standin_arrays": "mano",
    "write_mano_standin": "mano",
    "HostOpRecorder": "device",
    "assert_cuda_graph_replay_equals_eager": "device",
    "assert_outputs_within": "device",
    "host_ops_of_forward": "device",
    "max_abs_diff": "device",
    "short_run_args": "train",
    "shards_source": "train",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_getattr(__name__, _LAZY, _SUBMODULES)


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(_SUBMODULES))
