"""benchmarks.torch_cases: how known PyTorch configurations are classified (the rules; the
enumeration of PyTorch's suite itself runs by hand, with torch installed)."""

from __future__ import annotations

import pytest

from benchmarks import torch_cases
from benchmarks.torch_cases import Case, Out, classify, optimizer_needs


def test_optimizer_arguments_map_to_nnframes_names():
    assert optimizer_needs("SGD", {"lr": 0.1, "foreach": True}) == [
        ("optimizer", "sgd", None), ("optimizer", "sgd", "learning_rate")]
    assert optimizer_needs("Adam", {"betas": (0.8, 0.9), "amsgrad": False}) == [
        ("optimizer", "adam", None), ("optimizer", "adam", "beta1"),
        ("optimizer", "adam", "beta2")]
    # AdamW's weight_decay is its own default, never "the default of no decay"
    assert ("optimizer", "adamw", "weight_decay") in optimizer_needs(
        "AdamW", {"weight_decay": 0.0})


def test_a_case_needing_a_missing_argument_names_it():
    case = classify("SGD", lambda: optimizer_needs("SGD", {"momentum": 0.9,
                                                           "no_such_option": 1}),
                    "common_optimizers", "made up")
    assert case == Case("common_optimizers", "SGD", "made up", "needs", "sgd.no_such_option")


def test_arguments_are_read_from_the_registered_component():
    present = [("loss", "smooth_l1", None), ("loss", "smooth_l1", "beta")]
    assert classify("SmoothL1Loss", lambda: present, "s", "n").status == "expressible"
    absent = [("loss", "smooth_l1", None), ("loss", "smooth_l1", "no_such_argument")]
    case = classify("SmoothL1Loss", lambda: absent, "s", "n")
    assert case.status == "needs" and case.reason == "smooth_l1.no_such_argument"


def test_a_capability_no_signature_shows_counts_only_when_listed():
    listed = [("loss", "cross_entropy", None), ("loss", "cross_entropy", "<K-dim>")]
    assert classify("CrossEntropyLoss", lambda: listed, "s", "n").status == "expressible"
    unlisted = [("loss", "cross_entropy", None), ("loss", "cross_entropy", "<sparse>")]
    assert classify("CrossEntropyLoss", lambda: unlisted, "s", "n").status == "needs"


def test_an_out_of_scope_case_keeps_its_reason():
    def needs():
        raise Out("proj_size (projected lstm states)")

    assert classify("LSTM", needs, "s", "n") == Case("s", "LSTM", "n", "out",
                                                           "proj_size (projected lstm states)")


def test_torch_modules_are_classified_by_their_options():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    x2d = torch.zeros(2, 4, 6, 6)

    def status(module, *inputs):
        rule = torch_cases.RULES.get(type(module).__name__, torch_cases.conv)
        return classify(type(module).__name__, lambda: rule(module, list(inputs)), "test", "")

    assert status(nn.Conv2d(4, 4, 3, groups=2, dilation=2, padding_mode="circular",
                            padding=2, bias=False), x2d).status == "expressible"
    assert status(nn.ConvTranspose2d(4, 4, 3), x2d).reason == "transposed convolution"
    assert status(nn.MaxPool2d(3, padding=1, dilation=2), x2d).status == "expressible"
    assert "ceil_mode" in status(nn.MaxPool2d(3, ceil_mode=True), x2d).reason
    assert status(nn.AdaptiveAvgPool2d(1), x2d).status == "expressible"
    assert status(nn.AdaptiveMaxPool2d((3, None)), x2d).status == "expressible"
    assert status(nn.RNN(2, 3, num_layers=2, nonlinearity="relu", bias=False,
                         bidirectional=True), torch.zeros(5, 2)).status == "expressible"
    assert status(nn.LSTM(2, 3, proj_size=2), torch.zeros(5, 2)).status == "out"
    h0 = torch.zeros(1, 4, 3)  # one state per sample of a batch of 4
    assert "per sample" in status(nn.GRU(2, 3), torch.zeros(5, 4, 2), h0).reason
    assert status(nn.GRU(2, 3), torch.zeros(5, 2), torch.zeros(1, 3)).status == "expressible"
    assert status(nn.CrossEntropyLoss(ignore_index=1), torch.zeros(2, 3),
                  torch.zeros(2, dtype=torch.long)).status == "expressible"
    assert status(nn.CrossEntropyLoss(), torch.zeros(2, 3, 4, 4),
                  torch.zeros(2, 3, 4, 4)).status == "expressible"  # probabilities, K-dim
    assert status(nn.BCEWithLogitsLoss(pos_weight=torch.ones(3)), torch.zeros(2, 3),
                  torch.zeros(2, 3)).reason == "pos_weight"
