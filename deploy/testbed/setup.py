#!/usr/bin/env python3
"""Testbed setup: a project venv with MLServer, and a two-stage scikit-learn pipeline.

Stage "reduce" turns 8x8 digit images (64 features) into fewer features; stage "classify"
predicts the digit. Each variant is a real model trained here on `load_digits`, scored on
held-out data, and saved with an MLServer model-settings.json. Re-running is cheap: the venv
and the models are kept when their pins and training recipe are unchanged.

Usage: python3 deploy/testbed/setup.py [--venv DIR] [--models DIR]
Prints one JSON line on stdout: {"python", "mlserver", "modelsDir", "variants": [...]}.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# Versions that install from PyPI on Python 3.11 (resolved together by pip 23).
PINS = [
    "mlserver==1.7.1",
    "mlserver-sklearn==1.7.1",
    "scikit-learn==1.9.1",
    "joblib==1.6.0",
    # uvloop ≥ 0.22 no longer creates a loop in get_event_loop(); MLServer 1.7.1 workers need that.
    "uvloop==0.21.0",
]

# Trained in the venv (not here) so the pickles match the scikit-learn MLServer loads.
TRAIN = r'''
import json, sys, time
from pathlib import Path
import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, KernelPCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

models_dir = Path(sys.argv[1])
X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

# Stage "reduce" denoises: it projects an image onto fewer components and reconstructs the 64
# pixels, so every classify variant can follow every reduce variant. Costlier variants keep more
# of the image (kernel PCA evaluates a kernel against every sample it was fitted on).
def reconstructing(projection):
    # A bound method pickles as (object, name): the saved pipeline needs no class of ours.
    return make_pipeline(projection, FunctionTransformer(func=projection.inverse_transform))

reduce_variants = {
    "reduce-pca8": reconstructing(PCA(n_components=8, random_state=0)),
    "reduce-kpca300": reconstructing(KernelPCA(n_components=32, kernel="rbf", gamma=1e-3, alpha=0.01, fit_inverse_transform=True, random_state=0)),
    "reduce-kpca1200": reconstructing(KernelPCA(n_components=64, kernel="rbf", gamma=1e-3, alpha=0.01, fit_inverse_transform=True, random_state=0)),
}
reduce_fit_samples = {"reduce-pca8": len(X_train), "reduce-kpca300": 300, "reduce-kpca1200": 1200}
# A reduce variant is scored by a fixed reference classifier on its reconstruction of held-out images.
reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)

classify_variants = {
    "classify-logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    "classify-rf10": RandomForestClassifier(n_estimators=10, random_state=0),
    "classify-rf200": RandomForestClassifier(n_estimators=200, random_state=0),
    "classify-mlp": make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(512, 512, 512), max_iter=300, random_state=0)),
}

out = []
def save(name, stage, model, accuracy, n_features):
    d = models_dir / name
    d.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, d / "model.joblib")
    (d / "accuracy.json").write_text(json.dumps({"variant": name, "stage": stage, "accuracy": round(accuracy * 100, 2),
        "metric": "top-1 accuracy % on 30% held-out load_digits", "testSamples": int(len(y_test)), "inputFeatures": n_features}) + "\n")
    out.append({"name": name, "stage": stage, "accuracy": round(accuracy * 100, 2), "inputFeatures": n_features})

for name, reducer in reduce_variants.items():
    t = time.time()
    reducer.fit(X_train[: reduce_fit_samples[name]])
    acc = float(reference.score(reducer.transform(X_test), y_test))
    save(name, "reduce", reducer, acc, 64)
    print(f"{name}: accuracy {acc:.4f} ({time.time() - t:.1f} s)", file=sys.stderr)

for name, model in classify_variants.items():
    t = time.time()
    model.fit(X_train, y_train)
    acc = float(model.score(X_test, y_test))
    save(name, "classify", model, acc, 64)
    print(f"{name}: accuracy {acc:.4f} ({time.time() - t:.1f} s)", file=sys.stderr)

print(json.dumps(out))
'''


def log(message: str) -> None:
    print(f"[testbed] {message}", file=sys.stderr, flush=True)


def ensure_venv(venv_dir: Path) -> Path:
    python = venv_dir / "bin" / "python"
    marker = venv_dir / ".ipa-pins"
    wanted = "\n".join(PINS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    started = time.time()
    log(f"creating venv {venv_dir}")
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS], check=True,
                   stdout=sys.stderr)
    marker.write_text(wanted)
    log(f"venv ready in {time.time() - started:.0f} s")
    return python


def model_settings(variant: dict, max_batch_size: int = 1, max_batch_time: float = 0) -> dict:
    """MLServer's model-settings.json; src/profiling/testbed.ts writes the same with other batch settings."""
    parameters = {"uri": "./model.joblib", "version": "v1"}
    if variant["stage"] == "reduce":
        # Reducers have no predict(); the runtime calls this method when a request names no output.
        parameters["extra"] = {"predict_fn": "transform"}
    return {
        "name": variant["name"],
        "implementation": "mlserver_sklearn.SKLearnModel",
        "max_batch_size": max_batch_size,
        "max_batch_time": max_batch_time,
        # Declared so load generators can build a request from GET /v2/models/{name}.
        "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, variant["inputFeatures"]]}],
        "parameters": parameters,
    }


def write_settings(models_dir: Path, variant: dict) -> None:
    settings = model_settings(variant)
    (models_dir / variant["name"] / "model-settings.json").write_text(json.dumps(settings, indent=2) + "\n")


def ensure_models(python: Path, models_dir: Path) -> list:
    recipe = hashlib.sha256((TRAIN + "\n".join(PINS)).encode()).hexdigest()
    stamp = models_dir / "variants.json"
    if stamp.exists():
        saved = json.loads(stamp.read_text())
        if saved.get("recipe") == recipe:
            return saved["variants"]
    started = time.time()
    log(f"training variants into {models_dir}")
    models_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(python), "-c", TRAIN, str(models_dir)], check=True, stdout=subprocess.PIPE, text=True)
    variants = json.loads(result.stdout.strip().splitlines()[-1])
    for v in variants:
        write_settings(models_dir, v)
    stamp.write_text(json.dumps({"recipe": recipe, "variants": variants}, indent=2) + "\n")
    log(f"trained {len(variants)} variants in {time.time() - started:.0f} s")
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = Path(os.environ.get("IPA_CACHE_DIR", ROOT / ".cache"))
    parser.add_argument("--venv", type=Path, default=cache / "testbed-venv")
    parser.add_argument("--models", type=Path, default=HERE / "models")
    args = parser.parse_args()
    python = ensure_venv(args.venv.resolve())
    variants = ensure_models(python, args.models.resolve())
    print(json.dumps({"python": str(python), "mlserver": str(python.parent / "mlserver"),
                      "modelsDir": str(args.models.resolve()), "variants": variants}))


if __name__ == "__main__":
    main()
