# Training recipe of DIGIT's network on open-hand synthetic images
# (mmengine config; `handzoo-train digit-interhand-openhand`).
#
# DIGIT has no hand model (it predicts 2.5D joints, handedness, the relative root depth and
# part labels), so "open hand" here means the data: whole synthetic images with one or two
# hands (streamed from the generator), cropped around the union of the hands as DIGIT crops.
# The joint, root-depth, handedness and bone terms train (the authors' weights 1, 1, 1, 0.1);
# the part-segmentation term (x10) is off, since the generator writes no per-part labels. The
# generator places two hands apart, not interacting, unlike InterHand2.6M. Adam at 1e-4.
variant = "digit-interhand"
seed = 0
max_iters = 30000
model = dict(kwargs=dict(), loss=None, freeze_norm=False)
train_data = dict(
    source=dict(type="scenes", dataset="synthetic", split="train", max_hands=2, image_size=256, two_hand_prob=0.7),
    transform=dict(type="handzoo_digit.training:DigitTrainTransform", scale_jitter=0.15, shift=0.05, colour=1.0),
    batch_size=16,
    num_workers=4,
)
val_data = None
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4), clip_grad=dict(max_norm=10.0))
param_scheduler = [dict(type="MultiStepLR", by_epoch=False, milestones=[24000], gamma=0.1)]
ema = None
checkpoint_interval = 1000
log_interval = 20
