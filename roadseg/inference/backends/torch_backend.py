"""The torch backend: the model as trained, on the CPU or CUDA (AMP, channels_last, compile)."""

from __future__ import annotations

from roadseg.errors import InputError
from roadseg.inference.backends.base import BackendOptions, ModelSource, Runner
from roadseg.inference.device import prepare_model


def create(source: ModelSource, options: BackendOptions) -> Runner:
    """Run ``source.net`` with torch; logits out, the predictor normalises the input."""
    if source.net is None:
        raise InputError(
            f"{source.name}: an ONNX model runs with --backend onnxruntime or openvino, not torch"
        )
    if options.precision != "fp32":
        raise InputError(
            f"precision {options.precision} is offered by onnxruntime/openvino only "
            "(torch on CUDA uses --amp)"
        )
    net = prepare_model(
        source.net, options.device, channels_last=options.channels_last, compile=options.compile
    )
    return Runner(
        name="torch",
        run=net,
        outputs="logits",
        normalised=False,
        down_factor=source.down_factor,
        detail=f"torch {options.device}",
    )
