"""torchvision's auxiliary classifiers (googlenet and inception_v3 default to ``aux_logits=True``): the specs
build them with ``vars.aux_logits`` true, as extra named outputs, and a default build (logits only) loads a
default-constructed state_dict, reporting the aux tensors as not used by this build (docs/pytorch.md).

Cheap by design: parameter counts from the layer graph against torchvision on the meta device; one
GoogLeNet reference at 80x80 (inception4a's 5x5 map pools to 4x4 with overlapping bins), whose saved state_dict is
loaded twice: with the aux heads (all three outputs compared) and without (the logits, and the note).
"""

from __future__ import annotations

import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

import archspec
from archspec.export.checkpoint_check import format_text, to_json, verdict
from archspec.weights.torch_plan import plan_transfer
from tests.test_doc_examples import doc_block
from torch_reference import from_batch, images, max_rel_error, save_safetensors

M = torchvision.models
AUX = {"vars.aux_logits": True}
MEMBERS = [("googlenet", "googlenet", ("aux1", "aux2")), ("inception_v3_torch", "inception_v3", ("AuxLogits",))]
SIZE = 80
ROOT = Path(__file__).resolve().parents[2]


def _meta(constructor: str) -> torch.nn.Module:
    """torchvision's default model (aux_logits=True) on the meta device: shapes and counts, no memory."""
    with torch.device("meta"):
        return getattr(M, constructor)(init_weights=False)


@pytest.mark.parametrize("spec, constructor, aux", MEMBERS, ids=[m[0] for m in MEMBERS])
def test_parameter_counts_with_the_aux_heads_equal_torchvisions(spec, constructor, aux):
    model = _meta(constructor)
    trainable = sum(p.numel() for p in model.parameters())
    total = trainable + sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    graph = archspec.api.layer_graph(spec, overrides=AUX)
    assert (sum(layer.trainable for layer in graph), sum(layer.params for layer in graph)) == (trainable, total)
    assert list(graph.outputs) == ["logits", *(("aux",) if constructor == "inception_v3" else aux)]


@pytest.mark.parametrize("spec, constructor, aux", MEMBERS, ids=[m[0] for m in MEMBERS])
def test_a_default_state_dict_fills_the_default_build(spec, constructor, aux):
    """The plan (what check-weights and build decide) for a default-constructed state_dict: every layer filled,
    the aux tensors neither leftover nor a problem, and named with the option that takes them."""
    shapes = {name: tuple(t.shape) for name, t in _meta(constructor).state_dict().items()}
    optional = [name for name in shapes if name.split(".")[0] in aux]
    assert optional, "torchvision's default model has the aux tensors"
    graph = archspec.api.layer_graph(spec)
    plan = plan_transfer(graph, shapes, f"{constructor}.pth")
    assert plan.unmapped == [] and plan.mismatched == [] and plan.leftover == []
    assert plan.optional == optional and verdict(plan, graph) == "complete"
    assert to_json(plan, graph, "torch")["optional"] == optional
    text = format_text(plan, graph, "torch")
    assert f"not used by this build: {len(optional)} tensor(s) of {', '.join(aux)} (" in text
    assert "--set vars.aux_logits=true)" in text and text.endswith("OK: the checkpoint fills every layer with weights")
    with_aux = archspec.api.layer_graph(spec, overrides=AUX)
    plan = plan_transfer(with_aux, shapes, f"{constructor}.pth")
    assert (plan.unmapped, plan.leftover, plan.optional) == ([], [], [])


@pytest.fixture(scope="module")
def googlenet(tmp_path_factory):
    """torchvision's default googlenet, calibrated on a real batch, saved as googlenet.safetensors; two images,
    and the reference's logits and aux outputs (the aux modules applied to inception4a's and inception4d's
    outputs, as its training-mode forward does)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small model: threads only wait for each other on a busy 2-core machine
    try:
        ref = from_batch(lambda: M.googlenet(aux_logits=True, init_weights=False), images(4, SIZE, seed=7))
        expected, x = _reference_outputs(ref)
    finally:
        torch.set_num_threads(threads)
    st = save_safetensors(ref, tmp_path_factory.mktemp("googlenet") / "googlenet.safetensors")
    return st, x, expected


def _reference_outputs(ref: torch.nn.Module) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The logits of two images and what the aux modules compute from the blocks they read."""
    taken = {}
    hooks = [getattr(ref, m).register_forward_hook(lambda mod, inp, out, m=m: taken.__setitem__(m, out))
             for m in ("inception4a", "inception4d")]
    x = images(2, SIZE)
    with torch.no_grad():
        expected = {"logits": ref(torch.from_numpy(x)).numpy(), "aux1": ref.aux1(taken["inception4a"]).numpy(),
                    "aux2": ref.aux2(taken["inception4d"]).numpy()}
    for hook in hooks:
        hook.remove()
    return expected, x


def test_googlenet_aux_outputs_equal_torchvisions(googlenet, monkeypatch):
    """docs/pytorch.md's build with the aux heads gives torchvision's three outputs."""
    st, x, expected = googlenet
    for name, out in expected.items():
        assert max_rel_error(out[0], out[1]) > 1e-2, f"two images, two {name} outputs"
    monkeypatch.chdir(st.parent)
    namespace: dict = {}
    exec(doc_block("docs/pytorch.md", '"vars.aux_logits": True}'), namespace)
    ours = namespace["model"](np.transpose(x, (0, 2, 3, 1)), training=False)
    assert list(ours) == ["logits", "aux1", "aux2"]
    for name, out in expected.items():
        assert max_rel_error(np.asarray(ours[name]), out) < 1e-4, name


def test_googlenet_default_build_loads_the_aux_state_dict(googlenet):
    st, x, expected = googlenet
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = archspec.build("googlenet", weights=st, input_shape=(SIZE, SIZE, 3), classifier_activation=None)
    notes = [str(w.message) for w in caught if "not used by this build" in str(w.message)]
    assert len(notes) == 1 and "20 tensor(s) of aux1, aux2 (the auxiliary classifiers" in notes[0]
    assert "checkpoint tensor(s) not used" not in notes[0]
    logits = np.asarray(model(np.transpose(x, (0, 2, 3, 1)), training=False))
    assert max_rel_error(logits, expected["logits"]) < 1e-4


def test_the_docs_check_weights_output(googlenet, tmp_path, monkeypatch, cli):
    """docs/pytorch.md's check-weights of a default googlenet state_dict prints what the docs show."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    (tmp_path / "googlenet.safetensors").symlink_to(googlenet[0])
    command, *expected = doc_block("docs/pytorch.md", "$ archspec check-weights specs/googlenet.yaml").splitlines()
    code, out, _ = cli(*shlex.split(command[2:])[1:])
    assert code == 0
    assert out.splitlines() == expected
