# Training recipe of 3D-hand model-1 (RGB + 21 joint heatmaps) on the open hand
# (mmengine config; `handzoo-train 3dhand-rgb2d-openhand`).
#
# Model-0's recipe (3dhand-rgb-openhand.py: the same two phases, losses -- the mask term on, its
# masks rendered by the training transform --, data and optimiser) with
# the heatmap channels drawn from the ground-truth 2D joints (at test time they come from
# joints2d= or keypoints_from).
_base_ = ["./3dhand-rgb-openhand.py"]
variant = "3dhand-rgb2d"
train_data = dict(transform=dict(with_heatmaps=True))
