"""The Python package and the CLI give the same results for the same options and seed."""

from __future__ import annotations

import subprocess

import numpy as np

import stylemark
from stylemark import samples


def run_cli(cli, *args):
    completed = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return completed


def test_doodle_equals_the_cli(cli, scene, tmp_path):
    for name in ("style", "style_map", "doodle"):
        stylemark.save(scene[name], tmp_path / f"{name}.png")
    out = tmp_path / "cli.png"
    run_cli(
        cli, "doodle", "--style", tmp_path / "style.png", "--style-map", tmp_path / "style_map.png",
        "--content-map", tmp_path / "doodle.png", "--output", out,
        "--method", "optimize", "--phases", 2, "--iterations", 3, "--random-seed", 5, "--variety", 0.2, "--quiet",
    )
    ours = stylemark.doodle(
        tmp_path / "style.png", style_map=tmp_path / "style_map.png", content_map=tmp_path / "doodle.png",
        method="optimize", phases=2, iterations=3, random_seed=5, variety=0.2,
    )
    assert np.array_equal(stylemark.load(out), ours)


def test_watermark_equals_the_cli(cli, photo, tmp_path):
    stylemark.save(photo, tmp_path / "photo.png")
    out = tmp_path / "cli.png"
    run_cli(
        cli, "watermark", "--input", tmp_path / "photo.png", "--output", out, "--text", "© parity",
        "--opacity", 0.5, "--position", "north-west", "--size", 20,
    )
    ours = stylemark.watermark_text(photo, "© parity", opacity=0.5, size=20, placement={"position": "north-west"})
    assert np.array_equal(stylemark.load(out), ours)


def test_mark_equals_the_cli(cli, photo, tmp_path):
    stylemark.save(photo, tmp_path / "photo.png")
    out = tmp_path / "cli.png"
    run_cli(cli, "mark", "embed", "--input", tmp_path / "photo.png", "--output", out, "--payload", "beef", "--key", "k")
    ours = stylemark.embed_mark(photo, b"\xbe\xef", "k")
    assert np.array_equal(stylemark.load(out), ours)


def test_a_painted_photo_equals_the_cli(cli, photo, tmp_path):
    style = samples.demo_scene(96, 72, seed=4)["style"]
    stylemark.save(style, tmp_path / "style.png")
    stylemark.save(photo[:64, :80], tmp_path / "photo.png")
    out = tmp_path / "cli.png"
    run_cli(
        cli, "doodle", "--style", tmp_path / "style.png", "--content", tmp_path / "photo.png",
        "--output", out, "--strength", 0.6, "--preserve-colors", "--random-seed", 3, "--quiet",
    )
    ours = stylemark.doodle(
        tmp_path / "style.png", tmp_path / "photo.png", strength=0.6, preserve_colors=True, random_seed=3,
    )
    assert np.array_equal(stylemark.load(out), ours)
