"""Image-level helpers shared by the methods' preprocessing and the datasets.

:mod:`handzoo.imaging.transforms` holds the box conversions, affine crops (CPU and on-device),
colour conversion and normalisation. It sits below :mod:`handzoo.datasets`, so building a model
does not import every dataset loader.
"""
