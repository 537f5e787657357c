"""Every function does its job, with the core's option names and defaults."""

from __future__ import annotations

import inspect
import json
import pathlib

import numpy as np
import pytest

import stylemark
from stylemark import _native, samples


def changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.any(a != b, axis=-1).mean())


def test_text_watermark_changes_only_its_corner(photo):
    result = stylemark.watermark_text(
        photo, "© stylemark", size=24, opacity=1.0, placement={"position": "south-east"}, report=True
    )
    assert result.status == "applied" and result.report["marks"] == 1
    h, w = photo.shape[:2]
    diff = np.any(result.image != photo, axis=-1)
    assert diff[h // 2 :, w // 2 :].sum() > 100, "the text is drawn in the south-east"
    assert diff[: h // 2, :].sum() == 0 and diff[:, : w // 3].sum() == 0, "nothing else changes"


def test_tiled_text_covers_the_image_and_opacity_matters(photo):
    tiled = stylemark.watermark_text(photo, "DRAFT", size="8%", placement={"position": "tile", "rotation": -30})
    faint = stylemark.watermark_text(photo, "DRAFT", size="8%", opacity=0.1, placement={"position": "tile", "rotation": -30})
    assert changed_fraction(tiled, photo) > 0.1
    assert np.abs(faint.astype(int) - photo).mean() < np.abs(tiled.astype(int) - photo).mean()


def test_fonts_from_bytes_and_paths(photo, tmp_path):
    cjk = pathlib.Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    with pytest.raises(stylemark.InvalidOptionsError, match="水"):
        stylemark.watermark_text(photo, "山水")
    if not cjk.exists():
        pytest.skip("no CJK font here (scripts/test-all installs fonts-wqy-microhei)")
    by_path = stylemark.watermark_text(photo, "山水", fonts=[cjk])
    by_bytes = stylemark.watermark_text(photo, "山水", fonts=[cjk.read_bytes()])
    assert changed_fraction(by_path, photo) > 0 and np.array_equal(by_path, by_bytes)


def test_logo_alpha_and_skip(photo):
    logo = np.zeros((40, 80, 4), np.uint8)
    logo[:, :, 0] = 255
    logo[10:30, 20:60, 3] = 255  # opaque red box in a transparent frame
    result = stylemark.watermark_logo(
        photo, logo, size=80, opacity=1.0, placement={"position": "north-west", "margin": 0}, report=True
    )
    assert result.status == "applied"
    assert (result.image[10:30, 20:60] == [255, 0, 0]).all()
    assert np.array_equal(result.image[0:10, 0:20], photo[0:10, 0:20]), "transparent pixels leave the photo"
    skipped = stylemark.watermark_logo(photo, logo, min_width=1000, report=True)
    assert skipped.status == "skipped" and "1000" in skipped.reason
    assert np.array_equal(skipped.image, photo)


def test_invisible_mark_round_trip_through_jpeg(photo):
    result = stylemark.embed_mark(photo, b"\xc0\xff\xee", "secret", report=True)
    assert result.report["psnr_db"] >= 40
    jpeg = stylemark.encode(result.image, "jpeg", quality=75)
    found = stylemark.detect_mark(jpeg, "secret")
    assert found.found and found.payload == b"\xc0\xff\xee" and found.confidence > 0.5
    assert not stylemark.detect_mark(jpeg, "wrong key").found
    unmarked = stylemark.detect_mark(photo, "secret")
    assert not unmarked.found and unmarked.payload is None


def test_detect_marks_reads_many_images_in_order(photo, tmp_path):
    marked = stylemark.embed_mark(photo, b"\x01\x02", "secret")
    path = tmp_path / "marked.png"
    stylemark.save(marked, path)
    broken = b"\x89PNG\r\n\x1a\n not really"
    images = iter([path, photo, stylemark.encode(marked, "jpeg", quality=80), broken])
    outcomes = stylemark.detect_marks(images, "secret", return_exceptions=True)
    assert [getattr(o, "found", None) for o in outcomes[:3]] == [True, False, True]
    assert outcomes[0].payload == b"\x01\x02" and outcomes[2].payload == b"\x01\x02"
    assert outcomes[1] == stylemark.detect_mark(photo, "secret"), "the same as one at a time"
    assert isinstance(outcomes[3], stylemark.InvalidImageError)
    with pytest.raises(stylemark.InvalidImageError):
        stylemark.detect_marks([photo, broken], "secret")
    with pytest.raises(stylemark.InvalidOptionsError, match="key"):
        stylemark.detect_marks([photo], "")
    assert stylemark.detect_marks([], "secret") == []


def test_run_job_dict_and_json_match_direct_calls(photo):
    job = {
        "input": "photo",
        "steps": [
            {"op": "watermark_text", "text": "job", "options": {"opacity": 0.7}},
            {"op": "mark_embed", "payload": "0102", "key": "k"},
            {"op": "mark_detect", "key": "k"},
        ],
        "output": {"format": "png"},
    }
    result = stylemark.run(job, photo=photo)
    direct = stylemark.embed_mark(stylemark.watermark_text(photo, "job", opacity=0.7), b"\x01\x02", "k")
    assert np.array_equal(result.image, direct)
    assert np.array_equal(stylemark.load(result.data), direct), "data is the image in the job's format"
    assert [s["op"] for s in result.steps] == ["watermark_text", "mark_embed", "mark_detect"]
    assert result.steps[2]["details"]["found"] is True
    again = stylemark.run(json.dumps(job), photo=stylemark.encode(photo))
    assert np.array_equal(again.image, direct)


def test_run_job_errors_name_the_field(photo):
    with pytest.raises(stylemark.InvalidOptionsError, match=r"steps\[0\]"):
        stylemark.run({"input": "photo", "steps": [{"op": "watermark_text", "txt": "x"}]}, photo=photo)
    with pytest.raises(stylemark.InvalidOptionsError, match="nope"):
        stylemark.run({"input": "nope", "steps": [{"op": "mark_detect", "key": "k"}]}, photo=photo)


def test_run_job_with_a_doodle_and_fonts(scene):
    job = {
        "steps": [
            {"op": "doodle", "style": "s", "style_map": "sm", "content_map": "d",
             "options": {"method": "optimize", "phases": 1, "iterations": 3, "random_seed": 1}},
        ],
    }
    result = stylemark.run(job, s=scene["style"], sm=scene["style_map"], d=scene["doodle"])
    assert result.image.shape == scene["doodle"].shape
    assert result.steps[0]["details"]["status"] == "completed"


def test_samples_are_deterministic():
    assert np.array_equal(samples.photo(64, 48, 5), samples.photo(64, 48, 5))
    assert not np.array_equal(samples.photo(64, 48, 5), samples.photo(64, 48, 6))
    scene = samples.demo_scene(64, 48, 1)
    assert {k: v.shape for k, v in scene.items()} == {k: (48, 64, 3) for k in ("style", "style_map", "doodle")}


def test_python_defaults_are_the_core_defaults():
    """The keyword defaults in the signatures are the core's, so they cannot drift."""
    core = json.loads(_native.default_options("doodle"))
    signature = inspect.signature(stylemark.Engine.doodle)
    for name, parameter in signature.parameters.items():
        if name in core:
            assert parameter.default == core[name], name
    # Every core option is a keyword, with a line of the docstring: none is left out.
    assert set(core) <= set(signature.parameters)
    doc = inspect.getdoc(stylemark.Engine.doodle)
    for name in core:
        assert f"``{name}``" in doc, name
    assert "(optimize, hybrid only)" in doc


def test_one_function_per_operation_with_a_report_switch(photo):
    assert not any(name.endswith("_with_report") for name in dir(stylemark))
    marked = stylemark.watermark_text(photo, "x")
    result = stylemark.watermark_text(photo, "x", report=True)
    assert isinstance(result, stylemark.WatermarkResult)
    assert np.array_equal(result.image, marked)


def test_help_and_type_information_ship_with_the_package():
    package = pathlib.Path(stylemark.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_native.pyi").exists()
    doc = inspect.getdoc(stylemark.doodle)
    assert "content_map" in doc and "progress" in doc and "random_seed" in doc
    assert inspect.signature(stylemark.doodle).parameters["iterations"].default == 100
    assert stylemark.__version__ == _native.__version__


def test_the_module_shows_only_its_api():
    public = {name for name in dir(stylemark) if not name.startswith("_")}
    assert public == set(stylemark.__all__), sorted(public ^ set(stylemark.__all__))
    for name in stylemark.__all__:
        assert getattr(stylemark, name) is not None
