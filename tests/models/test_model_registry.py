"""The model registry: names, arguments, the common contract of every registered model."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from roadseg.models import available_models, build_model, register_model
from tests.models.param_arith import trainable

TWO_D = ["res_unet", "resunet", "resunet2d", "resunet_keras", "resunet_maxpool", "unet"]


def test_all_variants_are_registered() -> None:
    assert set(TWO_D) <= set(available_models())
    assert available_models() == sorted(available_models())


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown model 'resnet'") as err:
        build_model("resnet")
    for name in TWO_D:
        assert name in str(err.value)


@pytest.mark.parametrize("name", TWO_D)
def test_bad_arguments_become_value_errors(name: str) -> None:
    with pytest.raises(ValueError, match="bad arguments|unexpected"):
        build_model(name, filters="lite", no_such_option=3)
    with pytest.raises(ValueError, match="unknown width 'huge'"):
        build_model(name, filters="huge")


def test_a_name_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register_model("resunet")(lambda **kw: torch.nn.Identity())


@pytest.mark.parametrize("name", TWO_D)
def test_common_contract_bands_width_logits_down_factor(name: str) -> None:
    """in_channels, 'lite' < 'paper', (N, 1, H, W) logits, down_factor."""
    torch.manual_seed(0)
    net = build_model(name, in_channels=4, filters="lite").eval()
    assert isinstance(net.down_factor, int) and net.down_factor in (8, 16)
    x = torch.randn(2, 4, 32, 32)
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 1, 32, 32)
    assert torch.isfinite(y).all()
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in net.modules())  # logits
    assert trainable(net) < trainable(build_model(name, in_channels=4, filters="paper"))


@pytest.mark.parametrize(
    "name",
    TWO_D,
)
def test_input_size_not_a_multiple_of_down_factor_is_refused(name: str) -> None:
    net: Any = build_model(name, filters="lite").eval()
    with pytest.raises(ValueError, match=f"down_factor {net.down_factor}"), torch.no_grad():
        net(torch.randn(1, 3, 32 + net.down_factor // 2, 32))
