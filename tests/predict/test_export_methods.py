"""ONNX export of the methods with special cases: H2ONet-MF's three-frame graph and DIGIT's soft-argmax."""

from __future__ import annotations

import torch

from handzoo.interfaces import Method
from handzoo.predict.export_onnx import export_onnx, onnx_session


def test_multi_frame_h2onet_exports_with_three_frame_inputs(tmp_path, mf_model) -> None:
    model = mf_model
    info = export_onnx(model, tmp_path / "mf.onnx", batch_size=1, check_batch_sizes=(3,))
    assert set(info["inputs"]) == {"img_0", "img_1", "img_2"}  # frames t, t-short, t-long
    assert info["max_abs_diff"] <= 1e-4 and set(info["max_abs_diff_per_batch_size"]) == {"1", "3"}
    # one row per sample for frame t's outputs; 3 x batch rows for the per-frame ones
    axes = {o.name: o.shape[0] for o in onnx_session(tmp_path / "mf.onnx").get_outputs()}
    assert axes["pred_glob_rot_offset_mat"] == "batch" and axes["pred_verts3d_wo_gr"] == "pred_verts3d_wo_gr_rows"


class _JointHeadMethod(Method):
    """DIGIT's joint head alone, as a method (its soft-argmax is where float32 runtimes disagree)."""

    def __init__(self, plan: bool) -> None:
        super().__init__()
        from handzoo_digit.heads import DigitJointHead

        self.head = DigitJointHead(in_channels=8, num_joints=6)
        with torch.no_grad():  # small logits: a nearly flat heatmap, the worst case for the sums
            self.head.heatmap.weight.mul_(0.05)
        self.head.separable_expectation = plan

    def preprocess(self, query):  # pragma: no cover - export is given its batch
        raise NotImplementedError

    def forward(self, batch):
        return {"joints25d": self.head(batch["feat"])["joints25d"]}

    def postprocess(self, raw, meta):  # pragma: no cover
        raise NotImplementedError


def test_digit_soft_argmax_parity(tmp_path) -> None:
    from handzoo_digit.heads import soft_argmax_2d

    torch.manual_seed(0)
    m = _JointHeadMethod(plan=True).eval()
    feat = torch.randn(3, 8, 64, 64)
    info = export_onnx(m, tmp_path / "head.onnx", batch={"feat": feat})
    assert info["max_abs_diff"] <= 3e-5  # x, y up to 64 heatmap pixels: a few float32 ulps (7.6e-6 at 64)
    # the separable sums are the same function: float64 agrees to rounding, float32 to ~1e-5
    hm = m.head.heatmap(feat).detach()
    flat64, _ = soft_argmax_2d(hm.double())
    sep64, _ = soft_argmax_2d(hm.double(), separable=True)
    assert (flat64 - sep64).abs().max() < 1e-12
    sep32, _ = soft_argmax_2d(hm, separable=True)
    assert (sep32.double() - flat64).abs().max() < 2e-5
