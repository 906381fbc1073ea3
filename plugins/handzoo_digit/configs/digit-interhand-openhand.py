# Training recipe of DIGIT's network on open-hand synthetic images
# (mmengine config; `handzoo-train digit-interhand-openhand`).
#
# "Open hand" here means the data: whole synthetic images with one or two hands (streamed from
# the generator), cropped around the union of the hands as DIGIT crops. All five terms train
# with the authors' weights: 2.5D joints 1, relative root depth 1, handedness 1, part
# segmentation 10, bone prior 0.1. The part labels are rendered for every crop from the open
# hand's 16 parts (the joint that skins each vertex most), z-buffered over both hands, in the
# crop's camera. The generator places two hands apart, not interacting, unlike InterHand2.6M.
# Adam at 1e-4.
variant = "digit-interhand"
seed = 0
max_iters = 30000
model = dict(kwargs=dict(), loss=None, freeze_norm=False)
train_data = dict(
    source=dict(type="scenes", dataset="synthetic", split="train", max_hands=2, image_size=256, two_hand_prob=0.7),
    transform=dict(
        type="handzoo_digit.training:DigitTrainTransform",
        scale_jitter=0.15,
        shift=0.05,
        flip=0.5,  # the authors' mirror of half the crops (the hands swap slots)
        colour=1.0,
        hand_model="openhand",  # part labels from the open hand's parts (the generator's own model)
    ),
    batch_size=16,
    num_workers=4,
)
val_data = None
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4), clip_grad=dict(max_norm=10.0))
param_scheduler = [dict(type="MultiStepLR", by_epoch=False, milestones=[24000], gamma=0.1)]
ema = None
checkpoint_interval = 1000
log_interval = 20
