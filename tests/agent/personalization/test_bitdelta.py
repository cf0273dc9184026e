"""BitDelta: packing, the fused forward, scale distillation, per-user isolation, swaps."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from agent.personalization.bitdelta import BitDeltaLinear, compress, pack_signs, unpack_signs
from agent.personalization.personalize import (
    PersonalizedModel,
    distill_scales,
    linear_names,
    make_deltas,
)
from agent.personalization.store import DeltaStore, DeltaStoreError


def tiny_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 20), nn.GELU(), nn.Linear(20, 5))


def fine_tuned(base: nn.Module, seed: int, scale: float = 0.05) -> nn.Module:
    fine = tiny_net(0)
    fine.load_state_dict(base.state_dict())
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in fine.parameters():
            if p.dim() == 2:
                p.add_(torch.randn_like(p) * scale)
    return fine


def test_pack_unpack_round_trip_with_ragged_width():
    delta = torch.randn(7, 13)
    bits = pack_signs(delta)
    assert bits.dtype == torch.uint8 and bits.shape == (7, 2)
    assert torch.equal(unpack_signs(bits, 13), torch.where(delta > 0, 1.0, -1.0))


def test_fused_forward_equals_the_dense_reconstruction():
    base, fine = nn.Linear(12, 20), nn.Linear(12, 20)
    delta = compress(base.weight.data, fine.weight.data)
    layer = BitDeltaLinear(base)
    x = torch.randn(4, 12)
    assert torch.allclose(layer(x), base(x))  # no delta: the base layer exactly
    layer.load(delta)
    dense = base.weight + delta.alpha * unpack_signs(delta.bits, 12)
    assert torch.allclose(layer(x), nn.functional.linear(x, dense, base.bias), atol=1e-5)
    with pytest.raises(ValueError, match="does not fit"):
        layer.load(compress(torch.zeros(3, 3), torch.ones(3, 3)))


def test_scale_distillation_brings_outputs_closer_to_the_fine_tuned_model():
    base = tiny_net(0)
    fine = fine_tuned(base, seed=1)
    names = linear_names(base)
    deltas = make_deltas(base, fine, names)
    personal = PersonalizedModel(tiny_net(0), names)
    personal.activate("a", deltas)
    batches = [torch.randn(32, 12) for _ in range(4)]
    losses = distill_scales(personal, fine, lambda m, x: m(x), batches, steps=80, lr=1e-3)
    assert losses[-1] < losses[0]


def test_one_users_delta_never_reaches_another():
    base = tiny_net(0)
    names = linear_names(base)
    deltas = {u: make_deltas(base, fine_tuned(base, s), names) for u, s in (("a", 1), ("b", 2))}
    personal = PersonalizedModel(tiny_net(0), names)
    x = torch.randn(3, 12)
    base_out = personal.run(None, lambda m: m(x))
    personal.activate("a", deltas["a"])
    out_a = personal.run("a", lambda m: m(x))
    with pytest.raises(PermissionError):
        personal.run("b", lambda m: m(x))
    personal.activate("b", deltas["b"])
    out_b = personal.run("b", lambda m: m(x))
    assert not torch.allclose(out_a, base_out) and not torch.allclose(out_a, out_b)
    personal.activate("a", deltas["a"])
    assert torch.allclose(personal.run("a", lambda m: m(x)), out_a)  # b left nothing behind


def test_swaps_under_load_never_mix_users():
    base = tiny_net(0)
    names = linear_names(base)
    deltas = {f"u{i}": make_deltas(base, fine_tuned(base, i + 1), names) for i in range(4)}
    personal = PersonalizedModel(tiny_net(0), names)
    x = torch.randn(2, 12)
    expected = {}
    for user, d in deltas.items():
        personal.activate(user, d)
        expected[user] = personal.run(user, lambda m: m(x))
    errors = []

    def worker(order):
        for user in order * 15:
            out = personal.run_as(user, lambda u=user: deltas[u], lambda m: m(x))
            if not torch.allclose(out, expected[user]):
                errors.append(user)

    users = list(deltas)
    threads = [threading.Thread(target=worker, args=(users[i:] + users[:i],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_store_round_trip_isolation_and_encryption(tmp_path):
    base = tiny_net(0)
    names = linear_names(base)
    deltas = make_deltas(base, fine_tuned(base, 1), names)
    store = DeltaStore(tmp_path / "plain")
    store.save("alice", deltas, {"note": "first"})
    loaded = store.load("alice")
    assert set(loaded) == set(names) and torch.equal(loaded[names[0]].bits, deltas[names[0]].bits)
    assert store.users() == ["alice"]
    with pytest.raises(DeltaStoreError, match="no deltas"):
        store.load("bob")
    with pytest.raises(DeltaStoreError, match="malformed"):
        store.load("../alice")
    store.save("bob", deltas)
    store._file("bob").write_bytes(store._file("alice").read_bytes())  # swap files on disk
    with pytest.raises(DeltaStoreError, match="modified|belongs"):
        store.load("bob")

    key = DeltaStore.new_key()
    secret = DeltaStore(tmp_path / "enc", key=key)
    secret.save("carol", deltas)
    assert b"carol" not in secret._file("carol").read_bytes()
    assert torch.equal(secret.load("carol")[names[0]].bits, deltas[names[0]].bits)
    with pytest.raises(DeltaStoreError, match="no key"):
        DeltaStore(tmp_path / "enc").load("carol")


@pytest.mark.slow
def test_bitdelta_on_the_real_smollm2():
    """The packaged SmolLM2 in torch: a fine-tune's BitDelta equals its dense reconstruction."""
    import copy

    from agent.personalization.bitdelta import unpack_signs
    from agent.personalization.smollm import (
        encode_pairs,
        fine_tune,
        load_smollm2,
        perplexity,
        personal_layer,
    )
    from agent.personalization.tutor_corpus import examples

    base, tokenizer = load_smollm2()
    assert 1.0 < perplexity(base, tokenizer) < 1000
    fine = copy.deepcopy(base)
    fine_tune(fine, tokenizer, steps=2, batch=2)
    names = linear_names(base, personal_layer)
    assert len(names) == 30 * 7  # every projection of the 30 blocks
    deltas = make_deltas(base, fine, names)
    dense = copy.deepcopy(base)
    with torch.no_grad():
        for name in names:
            layer, d = dense.get_submodule(name), deltas[name]
            layer.weight += d.alpha * unpack_signs(d.bits, layer.in_features)
    personal = PersonalizedModel(copy.deepcopy(base), names)
    personal.activate("learner", deltas)
    ids, _ = encode_pairs(tokenizer, examples(held_out=True)[:2])
    with torch.no_grad():
        expected = dense(input_ids=ids).logits
        got = personal.run("learner", lambda m: m(input_ids=ids).logits)
    assert torch.allclose(got, expected, atol=1e-3)
