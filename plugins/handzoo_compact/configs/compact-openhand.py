# Training recipe of compact-openhand (mmengine config; `handzoo-train compact-openhand`).
#
# Data: the synthetic open-hand generator, pre-rendered once into shard folders
# (`python -m handzoo.train.shards --out DIR --n N --seed S --image-size 128 --fill 0.55 0.85`);
# training seeds (2, 3) are disjoint from the benchmark's (0) and validation's (1).
# Override the folders with --cfg-options train_data.source.roots=[...] or HANDZOO_TRAIN_DATA.
variant = "compact-openhand"
seed = 0

# the network is the card's architecture (model_cards/compact-openhand.md): timm mobilenetv3_small_100
# from scratch, the backbone sweep's pick (benchmarks/bench_backbone_sweep.py); try another one with
# --cfg-options "model.kwargs={'backbone': {'type': 'TimmBackbone', 'name': 'regnetx_002', 'out_indices': [4]}}"
model = dict(kwargs=dict(), loss=None, freeze_norm=False)
train_data = dict(
    source=dict(type="shards", roots=["{{$HANDZOO_TRAIN_DATA:~/.cache/handzoo/train}}/synth128"]),
    transform=dict(
        type="handzoo_compact.transform:CompactTrainTransform",
        input_size=128,
        crop_scale=1.5,
        scale_jitter=0.15,
        rotation_deg=180.0,
        shift=0.08,
        colour=1.0,
        seed=seed,
    ),
    batch_size=16,
    num_workers=0,
)
# the bench's protocol on 64 validation renders (seed 1), scored as `make bench` scores
val_data = dict(dataset=dict(name="synthetic", split="val", n=32), protocol="freihand", batch_size=16, interval=300)
max_iters = 3000
optim_wrapper = dict(optimizer=dict(type="AdamW", lr=1.5e-3, weight_decay=1e-4), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.05, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", by_epoch=False, begin=50, end=max_iters, eta_min=2e-5),
]
ema = dict(momentum=1e-2)
checkpoint_interval = 100
log_interval = 20
