"""The models shipped in ``roadseg/weights``, by name: constants only, so that the
commands' help can name them without importing torch."""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
#: The models shipped in ``roadseg/weights`` (see the model card in the README), by name.
SHIPPED_MODELS: dict[str, str] = {
    "resunet_w32_massachusetts": "resunet_w32_massachusetts.safetensors",
    "resunet_lite_massachusetts": "resunet_lite_massachusetts.safetensors",
}
DEFAULT_MODEL = "resunet_w32_massachusetts"
