"""Make assets/ch19_backbone.pt: a small CNN pretrained on cluttered digits 0-4.

Chapter 19 (transfer learning) fine-tunes this network on the other digits,
5-9, from a handful of labels. The source task: each 8x8 digit of
scikit-learn's bundled set (only the labels 0-4) is pasted at a random place
on a 24x24 canvas of uniform noise, with a few 4x4 fragments of other digits
of the same pool as clutter; a fresh canvas is drawn for every image in every
epoch. The network learns to find strokes in noise and clutter, which the
target task also needs.

Re-run with ``.venv/bin/python assets/make_ch19_backbone.py`` (one thread,
seeded: the file is the same on the same machine and library versions). The
script records the file's sha256 in assets/SHA256SUMS.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlcourse.assets import record_asset  # noqa: E402
from dlcourse.data import load_digits  # noqa: E402

OUTPUT = ROOT / "assets" / "ch19_backbone.pt"
CANVAS, NOISE, CLUTTER = 24, 0.5, 4
NUM_EPOCHS, BATCH_SIZE, LR = 200, 64, 2e-3
SEED = 0


def paste(canvas, patches, corners):
    """Paste patches (n, 1, h, w) into canvas (n, 1, S, S) at corners (n, 2), by max."""
    n, _, h, w = patches.shape
    batch = torch.arange(n)[:, None, None]
    rows = (corners[:, 0, None] + torch.arange(h))[:, :, None]
    cols = (corners[:, 1, None] + torch.arange(w))[:, None, :]
    canvas[batch, 0, rows, cols] = torch.maximum(canvas[batch, 0, rows, cols],
                                                 patches[:, 0])


def make_canvas(digits, generator, size=CANVAS, noise=NOISE, clutter=CLUTTER):
    """Chapter 19's ``make_canvas``: digits (n, 1, 8, 8) -> canvases (n, 1, S, S)."""
    n = len(digits)
    canvas = torch.rand(n, 1, size, size, generator=generator) * noise
    for _ in range(clutter):
        donors = digits[torch.randint(0, n, (n,), generator=generator)]
        crop = torch.randint(0, 5, (n, 2), generator=generator)
        batch = torch.arange(n)[:, None, None]
        rows = (crop[:, 0, None] + torch.arange(4))[:, :, None]
        cols = (crop[:, 1, None] + torch.arange(4))[:, None, :]
        fragments = donors[batch, 0, rows, cols][:, None]
        paste(canvas, fragments,
              torch.randint(0, size - 3, (n, 2), generator=generator))
    paste(canvas, digits, torch.randint(0, size - 7, (n, 2), generator=generator))
    return canvas


class DigitNet(nn.Module):
    """Chapter 19's network: ``backbone`` (images -> 64 features) and ``head``."""

    def __init__(self, num_classes):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.head = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    X, y = load_digits(images=True)
    source = y < 5
    X_src, y_src = X[source], y[source]
    model = DigitNet(5)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, NUM_EPOCHS)
    start = time.time()
    for epoch in range(NUM_EPOCHS):
        images = make_canvas(X_src, generator)
        order = torch.randperm(len(images), generator=generator)
        for first in range(0, len(images), BATCH_SIZE):
            batch = order[first:first + BATCH_SIZE]
            loss = F.cross_entropy(model(images[batch]), y_src[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
        if (epoch + 1) % 50 == 0:
            print(f"epoch {epoch + 1}: last batch loss {loss.item():.3f} "
                  f"({time.time() - start:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad():
        fresh = make_canvas(X_src, torch.Generator().manual_seed(SEED + 1))
        accuracy = (model(fresh).argmax(dim=1) == y_src).float().mean().item()
    print(f"source accuracy on fresh canvases of the training digits: {accuracy:.3f}")
    state = {name: t.detach().clone() for name, t in model.state_dict().items()}
    torch.save(state, OUTPUT)
    digest = record_asset(OUTPUT)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes), sha256 {digest}")


if __name__ == "__main__":
    main()
