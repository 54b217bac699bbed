"""Batches of crops drawn in background worker processes (a torch ``DataLoader``).

:class:`CropStream` yields whole batches ``(image, target, valid)`` for batch
indices ``start, start + 1, ...``. Batch ``b`` is drawn by a sampler reseeded
with ``(seed, rank, b)``, so its crops do not depend on how many workers there
are or on where a resumed run started. Worker ``w`` of ``W`` draws batches
``start + w, start + w + W, ...``; the ``DataLoader`` returns them in index
order. With ``num_workers=0`` the batches are drawn on the training thread.
On CUDA the batches are put in pinned memory so that the copy to the device
can overlap the previous step (``non_blocking=True``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from roadseg.models.checkpoint import Normalisation
from roadseg.training.sampling import CropSampler

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class CropStream(IterableDataset):
    """Batches ``start`` (inclusive) to ``stop`` (exclusive) of a run's crop sequence."""

    def __init__(
        self,
        sampler: CropSampler,
        batch_size: int,
        norm: Normalisation,
        start: int,
        stop: int,
        key: tuple[int, ...] = (0,),
    ) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self.norm = norm
        self.start, self.stop = start, stop
        self.key = key

    def batch(self, index: int) -> Batch:
        self.sampler.reseed(*self.key, index)
        b = self.sampler.batch(self.batch_size, self.norm)
        return b.image, b.target, b.valid

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for index in range(self.start + worker, self.stop, workers):
            yield self.batch(index)


def crop_loader(stream: CropStream, num_workers: int, pin_memory: bool, prefetch_batches: int) -> DataLoader:
    """A ``DataLoader`` over ``stream`` (already batched: ``batch_size=None``)."""
    return DataLoader(
        stream,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        prefetch_factor=prefetch_batches if num_workers else None,
    )
