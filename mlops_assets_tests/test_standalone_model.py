"""``model.keras`` stands alone: plain ``keras.saving.load_model`` loads it in a process that
cannot import this package, and it predicts raw rows there as it does here. Models saved with
the older custom layers still load through ``keras_model.load_model``."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from mlops_assets.data.dataset import load_table
from mlops_assets.data.features import split_features
from mlops_assets.params import TrainParams
from mlops_assets_tests.support.datasets import heart_csv

ROWS = {
    "Age": [61, 45, np.nan, 50],
    "Sex": ["M", "", "F", "M"],
    "ChestPainType": ["ASY", "NEVER-SEEN", "", "TA"],
    "RestingBP": [140, 120, 130, 125],
    "Cholesterol": [np.nan, 200, 250, np.nan],
    "FastingBS": [1, 0, 0, 1],
    "RestingECG": ["Normal", "LVH", "", "ST"],
    "MaxHR": [110, 170, np.nan, 150],
    "ExerciseAngina": ["Y", "N", "N", "Y"],
    "Oldpeak": [2.0, 0.0, 1.0, 0.5],
    "ST_Slope": ["Flat", "Up", "Down", "UNSEEN"],
}

# Plain Keras only: text as string tensors, numbers as float32 with NaN for a gap. A gap in text
# is "" there; a blank such as "  " is made "" by our raw_inputs only (the graph cannot strip).
LOAD_AND_PREDICT = """
import json, sys
import numpy as np
import keras, tensorflow as tf

model = keras.saving.load_model(sys.argv[1])
rows = json.loads(sys.argv[2])
inputs = {}
for tensor in model.inputs:
    values = rows[tensor.name]
    if "string" in str(tensor.dtype):
        inputs[tensor.name] = tf.constant([[v] for v in values])
    else:
        inputs[tensor.name] = np.array([[np.nan if v is None else v] for v in values], "float32")
print("PREDICTIONS", json.dumps(model.predict(inputs, verbose=0).ravel().tolist()))
"""


# Two epochs of a small network, no validation split: a model to save and load, in seconds.
TINY = TrainParams(
    epochs=2,
    batch_size=64,
    learning_rate=0.01,
    hidden_layers=[8],
    model=None,
    model_args={},
    validation_fraction=0.0,
    early_stopping_patience=0,
)


def blocked_env(tmp_path) -> dict:
    """A process environment where ``import mlops_assets`` raises (DESIGN.md)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text('import sys; sys.modules["mlops_assets"] = None\n')
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(site),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


@pytest.mark.pipeline
def test_the_saved_model_loads_and_predicts_raw_rows_with_plain_keras(tmp_path):
    from mlops_assets.modeling.keras_model import load_model, predict, save_model, train_model

    table = load_table(heart_csv(tmp_path), "HeartDisease", "binary_classification")
    features = split_features(
        table.frame, "HeartDisease", "binary_classification", 0.2, 42, columns=table.columns
    )
    path = save_model(train_model(features, TINY, project=tmp_path).model, tmp_path / "model.keras")
    config = zipfile.ZipFile(path).read("config.json").decode()
    assert "mlops_assets>" not in config and '"module": "mlops_assets' not in config
    assert "FillMissing" not in config and "MissingIndicator" not in config

    env, cwd = blocked_env(tmp_path), tmp_path / "elsewhere"
    cwd.mkdir()
    blocked = subprocess.run(
        [sys.executable, "-c", "import mlops_assets"], env=env, cwd=cwd, capture_output=True
    )
    assert blocked.returncode != 0 and b"import of mlops_assets halted" in blocked.stderr

    rows = {
        k: [None if isinstance(v, float) and np.isnan(v) else v for v in vs]
        for k, vs in ROWS.items()
    }
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, str(path), json.dumps(rows)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("PREDICTIONS "))
    standalone = np.array(json.loads(line.removeprefix("PREDICTIONS ")))

    ours = predict(load_model(path), ROWS)
    assert standalone.shape == (4,) and np.all(np.isfinite(standalone))
    np.testing.assert_allclose(standalone, ours, atol=1e-5)


def _blank_frame(rows):
    import pandas as pd

    return pd.DataFrame(rows)


def test_the_gap_and_an_unseen_category_encode_as_before(tmp_path):
    """The gap becomes the training fill's one-hot, an unseen value the out-of-vocabulary
    bucket; a blank number its fill and a 1 in its missing indicator."""
    import keras

    from mlops_assets.modeling.preprocessing import preprocessing, raw_inputs
    from mlops_assets.records import Column

    columns = [
        Column("colour", "categorical", "string", 0.1, fill="red"),
        Column("code", "categorical", "integer", 0.1, fill=3),
        Column("size", "numeric", "float", 0.1, fill=2.0, missing_indicator=True),
    ]
    train = _blank_frame(
        {"colour": ["red", "red", "blue"], "code": [3, 3, 5], "size": [1.0, 2.0, 3.0]}
    )
    inputs, encoded = preprocessing(columns, train)
    model = keras.Model(inputs, encoded)
    rows = {
        "colour": ["blue", "", "  ", "green", None],
        "code": [5, np.nan, 7, 3, 3],
        "size": [1.0, np.nan, 3.0, 2.0, 2.0],
    }
    out = model.predict(raw_inputs(model, rows), verbose=0)
    # colour: [oov, red, blue]; code: [oov, 3, 5]; size normalised; size missing
    np.testing.assert_array_equal(
        out[:, :3], [[0, 0, 1], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]]
    )
    np.testing.assert_array_equal(
        out[:, 3:6], [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]]
    )
    np.testing.assert_allclose(out[1, 6], out[3, 6])  # a blank size is the fill, 2.0
    np.testing.assert_array_equal(out[:, 7], [0, 1, 0, 0, 0])


def test_a_model_saved_with_the_older_custom_layers_still_loads(tmp_path):
    import keras

    from mlops_assets.modeling.keras_model import load_model, predict
    from mlops_assets.modeling.preprocessing import FillMissing, MissingIndicator

    colour = keras.Input(shape=(1,), dtype="string", name="colour")
    size = keras.Input(shape=(1,), dtype="float32", name="size")
    lookup = keras.layers.StringLookup(vocabulary=["red", "blue"], output_mode="one_hot")
    parts = [
        lookup(FillMissing("red", name="fill_colour")(colour)),
        FillMissing(2.0, name="fill_size")(size),
        MissingIndicator(name="missing_size")(size),
    ]
    encoded = keras.layers.Concatenate()(parts)
    output = keras.layers.Dense(1, activation="sigmoid")(encoded)
    old = keras.Model({"colour": colour, "size": size}, output)
    old.save(tmp_path / "model.keras")
    assert (
        "mlops_assets>FillMissing"
        in zipfile.ZipFile(tmp_path / "model.keras").read("config.json").decode()
    )

    rows = {"colour": ["blue", "", "green"], "size": [1.0, np.nan, 3.0]}
    loaded = load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(predict(loaded, rows), predict(old, rows), atol=1e-6)
