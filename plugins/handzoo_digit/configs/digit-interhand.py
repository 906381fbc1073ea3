# Training recipe of DIGIT on InterHand2.6M (mmengine config; `handzoo-train digit-interhand`).
#
# Whole InterHand2.6M v1.0 images (5 fps annotations, train split) through handzoo's loader
# (`interhand26m`), every annotated hand of an image in one record, cropped as DIGIT crops (the
# union of the hands' boxes, x1.25, 256x256). Targets: 42 2.5D joints (invalid joints masked as
# annotated), the left-minus-right root depth, handedness, and 128x128 part labels rendered per
# crop from MANO's 16 parts posed with the sample's NeuralAnnot MANO fit (its world translation
# and the camera's extrinsics place the mesh, as InterHand2.6M's own renderer does). The MANO
# files are the user's: give
# `train_data.transform.mano_dir=...` or set $HANDZOO_MANO_DIR; without them the segmentation
# term is off (a warning says so) and the other four terms train. Samples without MANO fits get
# segm_valid 0, as in the authors' data (their part labels exist where MANO does).
#
# The authors' augmentation: the expanded box shifted by U(-0.15, 0.15) of its width and height and
# scaled by 1 + 0.25 clip(N, -1, 1), in-plane rotation of 45 degrees x clip(N, -2, 2) on 60 % of
# the samples, a horizontal flip of half the crops (the hands swap slots and part ranges), a
# per-channel colour gain U(0.8, 1.2). Loss weights are the authors' (joints 1, root depth 1,
# handedness 1, segmentation 10, bones 0.1, from the card). Adam at 1e-4 without decay and 64
# images per step (16 x 4 accumulated), as the authors'. The data root: `--cfg-options
# train_data.source.root=/data/InterHand2.6M` (default $HANDZOO_DATA/InterHand2.6M).
variant = "digit-interhand"
seed = 0
max_iters = 200000
model = dict(kwargs=dict(), loss=None, freeze_norm=False)
train_data = dict(
    source=dict(type="scenes", dataset="interhand26m", split="train", root=None, max_hands=2),
    transform=dict(
        type="handzoo_digit.training:DigitTrainTransform",
        scale_factor=0.25,
        shift=0.15,
        rotation=45.0,
        rotation_prob=0.6,
        flip=0.5,
        colour=0.0,
        channel_gain=0.2,
        hand_model="mano",
        mano_dir=None,
        # part numbering: None = MANO's kinematic order (skinning argmax); the authors' own is their
        # vertex_segments_right_seal.json (e.g. to fine-tune their released weights)
        parts_file=None,
    ),
    batch_size=16,
    num_workers=8,
)
accumulate = 4
val_data = None
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4))
param_scheduler = None
ema = None
checkpoint_interval = 5000
log_interval = 50
