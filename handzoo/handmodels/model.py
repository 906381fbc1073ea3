"""The LBS hand model module and the ``hand_model`` factory."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from handzoo.errors import ConfigError, InputError
from handzoo.geometry.joint_orders import TO_HANDZOO21
from handzoo.handmodels.data import HandModelData
from handzoo.handmodels.lbs import kinematic_levels, lbs
from handzoo.interfaces import HandModel

__all__ = ["LBSHandModel", "hand_model", "HAND_MODEL_NAMES"]

HAND_MODEL_NAMES = ("openhand", "mano")


class LBSHandModel(HandModel):
    """A MANO-formulation hand model (own LBS) built from :class:`HandModelData` arrays.

    Args:
        data: the model arrays.
        flat_hand_mean: if False (default, as smplx), the data's ``hands_mean`` is added to
            ``hand_pose`` (MANO's relaxed mean pose); if True, zero pose is the flat template hand.
            The open hand's mean is zero, so the option does not change it.
        use_pca: if True, ``hand_pose`` holds ``num_pca_comps`` PCA coefficients.
        num_pca_comps: number of pose PCA components (45 is the same as ``use_pca=False``).
        num_betas: number of shape coefficients used (at most the data's).
        dtype: float32 or float64 buffers.
        tip_vertex_ids: override the data's fingertip vertex ids (thumb, index, middle, ring, pinky).
        joint_regressor: where the 21 returned joints come from.

            * ``None`` (default, as smplx): the posed kinematic joints plus the tip vertices.
            * ``'vertices'``: regressed from the posed vertices with the model's ``J_regressor``
              plus one-hot rows for the tip vertices (how Hand4Whole and H2ONet take joints).
            * a (21, V) array or tensor in ``handzoo21`` order: regressed from the posed
              vertices with that matrix, e.g. a regressor the authors trained with their network.
              An ``nn.Parameter`` is used as given and not registered here: the module that passes
              it owns it (registers, saves and trains it), and the hand model reads its values.

            Regression applies to the vertices before ``transl`` is added; ``transl`` is then
            added to the joints. The matrix is :attr:`joint_regressor` (not saved with the
            model's state, like every hand-model array that comes from the user's files).

    Attributes:
        faces, num_vertices, tip_vertex_ids, side, joint_order (``'handzoo21'``), name, num_betas,
        joint_regressor ((21, V) vertices -> handzoo21 joints), joints_from_vertices.
    """

    joint_order = "handzoo21"

    def __init__(
        self,
        data: HandModelData,
        flat_hand_mean: bool = False,
        use_pca: bool = False,
        num_pca_comps: int = 45,
        num_betas: int | None = None,
        dtype: torch.dtype = torch.float32,
        tip_vertex_ids: tuple[int, int, int, int, int] | None = None,
        joint_regressor: str | np.ndarray | torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        data.validate()
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        num_pose = 3 * (data.num_joints - 1)
        if use_pca and num_pca_comps == num_pose:
            use_pca = False
        if use_pca and not 1 <= num_pca_comps <= data.hands_components.shape[0]:
            raise ConfigError(f"num_pca_comps must be in 1..{data.hands_components.shape[0]}, got {num_pca_comps}")
        k = data.shapedirs.shape[-1] if num_betas is None else num_betas
        if not 0 <= k <= data.shapedirs.shape[-1]:
            raise ConfigError(f"num_betas must be at most {data.shapedirs.shape[-1]} for {data.name}, got {k}")
        tips = tuple(int(t) for t in (tip_vertex_ids or data.tip_vertex_ids))
        if len(tips) != 5 or not all(0 <= t < data.num_vertices for t in tips):
            raise ConfigError(f"tip_vertex_ids must be 5 vertex ids below {data.num_vertices}, got {tips}")

        self.name = data.name
        self.side = data.side
        self.num_vertices = data.num_vertices
        self.num_betas = k
        self.use_pca = use_pca
        self.num_pca_comps = num_pca_comps if use_pca else num_pose
        self.flat_hand_mean = flat_hand_mean
        self.tip_vertex_ids = tips  # type: ignore[assignment]
        self.parents = tuple(int(p) for p in data.parents)
        self._levels = kinematic_levels(self.parents)
        self.meta = dict(data.meta)

        def buf(name: str, a: np.ndarray | None) -> None:
            self.register_buffer(name, None if a is None else torch.as_tensor(np.asarray(a), dtype=dtype))

        buf("v_template", data.v_template)
        buf("shapedirs", data.shapedirs[..., :k])
        posedirs = data.posedirs
        if posedirs is not None and not np.any(posedirs):
            posedirs = None  # all-zero pose correctives: skip the work
        buf("posedirs", None if posedirs is None else posedirs.reshape(-1, posedirs.shape[-1]).T)
        buf("J_regressor", data.J_regressor)
        # regression is linear: rest joints = J_template + betas @ J_shapedirs (no V-sized product)
        buf("J_template", data.J_regressor @ data.v_template)
        buf(
            "J_shapedirs",
            np.einsum("jv,vck->kjc", data.J_regressor, data.shapedirs[..., :k]).reshape(k, 3 * data.num_joints),
        )
        buf("lbs_weights", data.weights)
        buf("hand_components", data.hands_components[: self.num_pca_comps] if use_pca else None)
        buf("hand_mean", np.zeros(num_pose) if flat_hand_mean else data.hands_mean)
        self.register_buffer("faces", torch.as_tensor(data.faces, dtype=torch.long))
        # handzoo21 = (16 regressed joints + 5 tips in mano21 order)[TO_HANDZOO21['mano21']]
        self.register_buffer("_tips", torch.as_tensor(tips, dtype=torch.long), persistent=False)
        self.register_buffer("_to_h21", torch.as_tensor(TO_HANDZOO21["mano21"], dtype=torch.long), persistent=False)
        self.set_joint_regressor(joint_regressor)

    def set_joint_regressor(self, option: str | np.ndarray | torch.Tensor | None) -> None:
        """Choose where the returned joints come from (the ``joint_regressor`` option).

        Args:
            option: ``None`` (kinematic joints + tips), ``'vertices'`` (``J_regressor`` + tip rows
                on the posed mesh) or a (21, V) ``handzoo21`` matrix; an ``nn.Parameter`` is used
                as given and not registered here (its owner registers, saves and trains it).

        Raises:
            ConfigError: an unknown option or a matrix of the wrong shape.
        """
        if "joint_regressor" in self.__dict__:
            del self.__dict__["joint_regressor"]
        elif "joint_regressor" in dict(self.named_buffers(recurse=False)):
            delattr(self, "joint_regressor")
        nv = self.num_vertices
        self.joints_from_vertices = option is not None
        if option is None or (isinstance(option, str) and option == "vertices"):
            onehot = self.J_regressor.new_zeros(5, nv)
            onehot[torch.arange(5), self._tips.to(onehot.device)] = 1.0
            mano21 = torch.cat([self.J_regressor, onehot])[self._to_h21]
            self.register_buffer("joint_regressor", mano21, persistent=False)
            return
        if isinstance(option, str):
            raise ConfigError(f"joint_regressor must be None, 'vertices' or a (21, {nv}) matrix, got {option!r}")
        if tuple(option.shape) != (21, nv):
            raise ConfigError(f"joint_regressor must be (21, {nv}), got {tuple(option.shape)}")
        if isinstance(option, torch.nn.Parameter):
            self.__dict__["joint_regressor"] = option  # owned (registered, saved, trained) by the caller
            return
        value = option.detach().clone() if isinstance(option, torch.Tensor) else torch.as_tensor(np.asarray(option))
        self.register_buffer("joint_regressor", value.to(self.dtype), persistent=False)

    def regress_joints(self, vertices: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) ``handzoo21`` joints regressed from (B, V, 3) vertices by :attr:`joint_regressor`."""
        reg = self.joint_regressor
        return torch.matmul(reg.to(vertices.dtype), vertices)

    @property
    def dtype(self) -> torch.dtype:
        return self.v_template.dtype

    def extra_repr(self) -> str:
        return (
            f"name={self.name}, side={self.side}, vertices={self.num_vertices}, faces={self.faces.shape[0]}, "
            f"betas={self.num_betas}, use_pca={self.use_pca}, flat_hand_mean={self.flat_hand_mean}"
        )

    def _as_batch(self, x: torch.Tensor | None, width: int, name: str, batch: int) -> torch.Tensor:
        if x is None:
            return self.v_template.new_zeros(batch, width)
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x))
        if x.dim() == 1:
            x = x[None]
        if x.dim() != 2 or x.shape[1] != width:
            raise InputError(f"{name} must have shape (B, {width}), got {tuple(x.shape)}")
        if x.shape[0] not in (1, batch):
            raise InputError(f"{name} has batch size {x.shape[0]}, expected {batch} (or 1)")
        return x.to(device=self.v_template.device, dtype=self.v_template.dtype).expand(batch, width)

    def forward(
        self,
        global_orient: torch.Tensor,
        hand_pose: torch.Tensor,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pose the hand.

        Args:
            global_orient: (B, 3) axis-angle of the wrist.
            hand_pose: (B, 45) axis-angle of the 15 finger joints (MANO order), or (B, num_pca_comps)
                PCA coefficients when ``use_pca``.
            betas: (B, num_betas) shape, or None for the mean shape. (B, k < num_betas) is allowed.
            transl: optional (B, 3) translation added to vertices and joints.

        Returns:
            ``(vertices (B, V, 3), joints (B, 21, 3))``, joints in ``handzoo21`` order, metres.
            A batch size of 1 in any argument broadcasts against the others.
        """
        sizes = [
            x.shape[0]
            for x in (global_orient, hand_pose, betas, transl)
            if isinstance(x, torch.Tensor) and x.dim() == 2
        ]
        batch = max(sizes) if sizes else 1
        go = self._as_batch(global_orient, 3, "global_orient", batch)
        hp = self._as_batch(hand_pose, self.num_pca_comps, "hand_pose", batch)
        if (
            betas is not None
            and isinstance(betas, torch.Tensor)
            and betas.dim() == 2
            and betas.shape[1] < self.num_betas
        ):
            betas = torch.nn.functional.pad(betas, (0, self.num_betas - betas.shape[1]))
        be = self._as_batch(betas, self.num_betas, "betas", batch)
        if self.use_pca:
            hp = hp @ self.hand_components
        hp = hp + self.hand_mean
        full_pose = torch.cat([go, hp], dim=1).reshape(batch, -1, 3)
        rest_joints = self.J_template + (be @ self.J_shapedirs).reshape(batch, -1, 3)
        vertices, joints = lbs(
            be,
            full_pose,
            self.v_template,
            self.shapedirs,
            self.posedirs,
            self.J_regressor,
            self.parents,
            self.lbs_weights,
            self._levels,
            joints=rest_joints,
        )
        if self.joints_from_vertices:
            joints21 = self.regress_joints(vertices)
        else:
            joints21 = torch.cat([joints, vertices[:, self._tips]], dim=1)[:, self._to_h21]
        if transl is not None:
            t = self._as_batch(transl, 3, "transl", batch)[:, None]
            vertices = vertices + t
            joints21 = joints21 + t
        return vertices, joints21


def hand_model(
    name: str = "openhand",
    side: str = "right",
    *,
    mano_dir: str | os.PathLike[str] | None = None,
    closed_wrist: bool = False,
    **kwargs: Any,
) -> LBSHandModel:
    """Build a hand model.

    Args:
        name: ``'openhand'`` (shipped, Apache-2.0, 1609 vertices) or ``'mano'`` (the user's MANO
            files, 778 vertices; see :func:`handzoo.handmodels.mano_reader.load_mano`).
        side: ``'right'`` or ``'left'``.
        mano_dir: folder with ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (default ``$HANDZOO_MANO_DIR``).
        closed_wrist: openhand only: add one vertex and faces closing the wrist (for rendering).
        **kwargs: :class:`LBSHandModel` options (``flat_hand_mean``, ``use_pca``, ``num_pca_comps``,
            ``num_betas``, ``dtype``, ``tip_vertex_ids``, ``joint_regressor``, ``fix_left_shapedirs`` for MANO).

    Returns:
        An :class:`LBSHandModel` (a :class:`handzoo.interfaces.HandModel`).

    Raises:
        ConfigError: unknown name or side. AssetError: MANO files missing.
    """
    side = side.lower() if isinstance(side, str) else side
    if side not in ("right", "left"):
        raise ConfigError(f"side must be 'right' or 'left', got {side!r}")
    key = name.lower() if isinstance(name, str) else name
    if key == "openhand":
        from handzoo.handmodels.openhand import load_openhand

        data = load_openhand(side)
        if closed_wrist:
            data = data.with_closed_wrist()
        return LBSHandModel(data, **kwargs)
    if key == "mano":
        from handzoo.handmodels.mano_reader import load_mano

        fix = kwargs.pop("fix_left_shapedirs", True)
        if closed_wrist:
            raise ConfigError("closed_wrist is only available for the openhand model")
        return LBSHandModel(load_mano(side, mano_dir, fix_left_shapedirs=fix), **kwargs)
    raise ConfigError(f"unknown hand model {name!r}", hint=f"one of: {', '.join(HAND_MODEL_NAMES)}")
