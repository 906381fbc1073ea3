"""Shared fixtures of the predict/export tests."""

from __future__ import annotations

import pytest
import torch

import handzoo


@pytest.fixture(scope="session")
def mf_model():
    """H2ONet-MF on the open hand model, random weights (the network, not its accuracy, is tested)."""
    torch.manual_seed(0)
    return handzoo.load("h2onet-openhand", pretrained=False).eval()
