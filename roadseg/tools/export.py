"""``roadseg export CKPT -o model.onnx``: a checkpoint as an ONNX graph for deployment elsewhere."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="a checkpoint as an ONNX model (normalisation and sigmoid inside)",
        description=(
            "Write the checkpoint's model as ONNX (opset 17, dynamic batch/height/width): "
            "raw band values (N, C, H, W) float32 in, road probabilities (N, 1, H, W) out; the "
            "checkpoint's metadata (bands, GSD, threshold, provenance) in metadata_props. The "
            "file runs anywhere ONNX does, and with roadseg as --weights."
        ),
    )
    p.add_argument("checkpoint", help="checkpoint .safetensors or a shipped model's name")
    p.add_argument("-o", "--output", required=True, help="output .onnx file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from roadseg.inference.backends.onnx_graph import export_checkpoint
    from roadseg.io_guard import check_paths
    from roadseg.models import resolve_weights

    check_paths([("-o", args.output)], [("checkpoint", resolve_weights(args.checkpoint))])
    export_checkpoint(args.checkpoint, args.output)
    return 0
