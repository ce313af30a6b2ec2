"""Make assets/ch23_tinygpt.pt: a small character-level GPT trained for minutes.

Chapter 23 trains its own TinyGPT for 400 steps (seconds), which beats the
bigram baseline but writes only partly readable text. This script trains a
somewhat larger causal Transformer on the same corpus for a few minutes of one
CPU core, so that the chapter's sampling demo can also show what more training
buys. The model is built from PyTorch's own modules only (pre-norm
``nn.TransformerEncoderLayer`` with a causal mask, learned position
embeddings, a final layer norm and a head tied to the token embedding).

The corpus is the chapter's: Python's bundled documentation
(``pydoc_data.topics``, joined in sorted key order), one token per character,
the first 90 % for training and the last 10 % held out. The text differs
between Python versions, so the file stores its own vocabulary (the list of
characters), the model's sizes and the held-out loss, next to the weights
(float16).

Re-run with ``.venv/bin/python assets/make_ch23_tinygpt.py`` (one thread,
seeded, deterministic algorithms: the file is the same on the same machine,
Python and library versions). The script records the file's sha256 in
assets/SHA256SUMS.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlcourse.assets import record_asset  # noqa: E402
from dlcourse.data import load_python_docs_chars  # noqa: E402

OUTPUT = ROOT / "assets" / "ch23_tinygpt.pt"
CONFIG = {"context_length": 64, "d_model": 128, "nhead": 4, "num_layers": 3,
          "dim_feedforward": 512}
NUM_STEPS, BATCH_SIZE, LR, WARMUP = 2000, 32, 2e-3, 100
DROPOUT, WEIGHT_DECAY = 0.1, 0.1
SEED = 0


class CharTransformer(nn.Module):
    """Token ids (N, T) -> next-token logits (N, T, V), built from nn modules."""

    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers,
                 dim_feedforward, dropout=0.0):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context_length, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward,
                                           dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers,
                                             enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        length = idx.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(
            length, device=idx.device, dtype=self.norm.weight.dtype)
        h = self.token_embedding(idx) + self.position_embedding.weight[:length]
        h = self.encoder(h, mask=causal, is_causal=True)
        return self.head(self.norm(h))


def held_out_loss(model, text, window):
    """Mean next-character loss over the non-overlapping windows of text."""
    model.eval()
    usable = (len(text) - 1) // window * window
    inputs = text[:usable].reshape(-1, window)
    targets = text[1:usable + 1].reshape(-1, window)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(inputs), 128):
            logits = model(inputs[start:start + 128])
            total += F.cross_entropy(logits.flatten(0, 1),
                                     targets[start:start + 128].flatten(),
                                     reduction="sum").item()
    model.train()
    return total / targets.numel()


def main(num_steps=NUM_STEPS, output=OUTPUT):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    _, chars, train_text, val_text = load_python_docs_chars(0.9)
    context = CONFIG["context_length"]

    model = CharTransformer(len(chars), **CONFIG, dropout=DROPOUT)
    nn.init.normal_(model.token_embedding.weight, std=0.02)
    nn.init.normal_(model.position_embedding.weight, std=0.02)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=LR, betas=(0.9, 0.99))

    def lr_factor(step):  # linear warm-up, then cosine decay to 10 %
        if step < WARMUP:
            return (step + 1) / WARMUP
        progress = (step - WARMUP) / max(num_steps - WARMUP, 1)
        return 0.1 + 0.45 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    offsets = torch.arange(context + 1)
    start = time.process_time()
    for step in range(num_steps):
        starts = torch.randint(0, len(train_text) - context - 1, (BATCH_SIZE, 1),
                               generator=generator)
        chunk = train_text[starts + offsets]
        logits = model(chunk[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        schedule.step()
        if (step + 1) % 200 == 0:
            print(f"step {step + 1}: batch loss {loss.item():.3f} "
                  f"({time.process_time() - start:.0f} s CPU)", flush=True)

    model.half()  # float16 storage; the tied weight is saved once
    val_loss = held_out_loss(model.float(), val_text, context)
    print(f"held-out loss (last 10 %, windows of {context}): {val_loss:.4f} "
          "nats/char", flush=True)
    model.half()
    asset = {"chars": chars, "config": dict(CONFIG), "val_loss": round(val_loss, 4),
             "num_steps": num_steps, "batch_size": BATCH_SIZE,
             "python": sys.version.split()[0], "torch": str(torch.__version__),
             "state_dict": model.state_dict()}
    torch.save(asset, output)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(f"CPU time {cpu.ru_utime + cpu.ru_stime:.0f} s")
    if output == OUTPUT:
        digest = record_asset(output)
        print(f"wrote {output} ({output.stat().st_size} bytes), sha256 {digest}")


if __name__ == "__main__":
    main()
