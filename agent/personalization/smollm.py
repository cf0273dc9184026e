"""SmolLM2-135M in torch, from the same gguf llama.cpp serves (dequantised by transformers'
gguf loader), plus the small training and scoring loops BitDelta's evaluation needs."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from agent.personalization.tutor_corpus import examples
from speech.assets import smollm2_gguf

PROMPT = "Learner: {q}\nTutor:"
PERSONAL_LAYERS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def load_smollm2(path: Path | None = None):
    """(model, tokenizer) in float32 on CPU, eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf(path)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    return model.eval(), tokenizer


def personal_layer(name: str) -> bool:
    """Which Linears carry a user's delta: every projection inside the transformer blocks."""
    return name.rsplit(".", 1)[-1] in PERSONAL_LAYERS


def encode_pairs(tokenizer, pairs: list[tuple[str, str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """input_ids and labels (prompt positions masked with -100), right-padded."""
    rows, labels = [], []
    for q, a in pairs:
        prompt = tokenizer(PROMPT.format(q=q))["input_ids"]
        target = tokenizer(" " + a)["input_ids"] + [tokenizer.eos_token_id]
        rows.append(prompt + target)
        labels.append([-100] * len(prompt) + target)
    width = max(len(r) for r in rows)
    pad = tokenizer.eos_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    lab = torch.tensor([r + [-100] * (width - len(r)) for r in labels])
    return ids, lab


def fine_tune(
    model: nn.Module, tokenizer, steps: int, batch: int = 8, lr: float = 5e-5
) -> list[float]:
    """Full fine-tune on the training corpus; returns the loss per step."""
    ids, labels = encode_pairs(tokenizer, examples(held_out=False))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(0)
    model.train()
    losses = []
    for _ in tqdm(range(steps), desc="fine-tuning SmolLM2", unit="step"):
        rows = torch.randint(0, len(ids), (batch,), generator=generator)
        loss = model(input_ids=ids[rows], labels=labels[rows]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def perplexity(model: nn.Module, tokenizer, held_out: bool = True) -> float:
    """exp(mean token loss) over the answers of the held-out (or training) pairs."""
    model.eval()
    ids, labels = encode_pairs(tokenizer, examples(held_out=held_out))
    return float(torch.exp(model(input_ids=ids, labels=labels).loss))


@torch.no_grad()
def generate_answers(model: nn.Module, tokenizer, max_new_tokens: int = 40) -> list[str]:
    """Greedy answers to one question per held-out topic."""
    model.eval()
    questions = [q for q, _ in examples(held_out=True)][::4]
    out = []
    for q in questions:
        prompt = tokenizer(PROMPT.format(q=q), return_tensors="pt")
        tokens = model.generate(**prompt, max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.eos_token_id)  # fmt: skip
        out.append(
            tokenizer.decode(tokens[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True)
        )
    return out
