"""`make demo`: the offline tour of what visiona does today (about 2-3 minutes on 2 CPU cores).

1. Writes scikit-learn's handwritten digits as an image folder (train/ and held-out test/).
2. Trains the course's from-scratch CNN on it (Lightning; curves, checkpoints, logs).
3. Evaluates the best checkpoint on the held-out test images: accuracy, confusion matrix,
   hardest images. The demo fails if accuracy is below 95 %.
4. Classifies skimage's sample photos with the pretrained EfficientNet-Lite0 (offline weights),
   saving annotated copies, and the centre of the cat photo only (`--roi center:0.5`).
5. Prints where every output file is.

Every step runs the real `visiona` CLI with downloads switched off (VISIONA_OFFLINE=1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

OUTPUT = Path(os.environ.get("VISIONA_DEMO_DIR", "demo_output")).resolve()
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera")
MIN_ACCURACY = 0.95


def write_sample_photos(folder: Path) -> list[Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in PHOTOS:
        path = folder / f"{name}.jpg"
        Image.fromarray(getattr(data, name)()).save(path, quality=92)
        paths.append(path)
    return paths


def visiona(*args: str, echo: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real CLI offline; show its output unless ``echo`` is off."""
    command = [sys.executable, "-m", "visiona", *args]
    env = {**os.environ, "VISIONA_OFFLINE": "1"}
    print("\n$ visiona " + " ".join(args), flush=True)
    done = subprocess.run(command, text=True, capture_output=True, env=env)
    if echo or done.returncode != 0:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"demo step failed with exit code {done.returncode}")
    return done


def main() -> None:
    start = time.perf_counter()
    if OUTPUT.exists():
        shutil.rmtree(OUTPUT)  # the demo's own folder: each run starts clean
    digits = OUTPUT / "digits"
    runs = OUTPUT / "runs"

    visiona("data", "make", "digits", str(digits))
    visiona(
        "train", "classify", "--data", str(digits / "train"), "--model", "cnn",
        "--epochs", "15", "--batch-size", "32", "--lr", "3e-3", "--augment", "light",
        "--no-hflip", "--name", "digits-cnn", "--project", str(runs), "--seed", "0",
    )  # fmt: skip
    run_dir = runs / "classify" / "digits-cnn"
    visiona(
        "evaluate", "classify", "--model", str(run_dir / "best"), "--data", str(digits / "test"),
        "--output", str(run_dir / "eval-test"),
    )  # fmt: skip
    metrics = json.loads((run_dir / "eval-test" / "metrics.json").read_text())
    accuracy = float(metrics["accuracy"])

    photos = write_sample_photos(OUTPUT / "photos")
    visiona("predict", "classify", str(OUTPUT / "photos"), "--top-k", "3",
            "--save", str(OUTPUT / "classified"))  # fmt: skip
    listing = visiona("predict", "classify", str(OUTPUT / "photos"), "--json", echo=False)
    results = json.loads(listing.stdout)
    (OUTPUT / "classify.json").write_text(json.dumps(results, indent=2))
    visiona("predict", "classify", str(photos[0]), "--roi", "center:0.5", "--top-k", "3",
            "--save", str(OUTPUT / "classified_roi"))  # fmt: skip

    print("\n== summary ==")
    print(f"digits CNN, held-out test accuracy: {accuracy:.2%} "
          f"({metrics['num_images']} images; target >= {MIN_ACCURACY:.0%})")  # fmt: skip
    print("pretrained EfficientNet-Lite0, top-1 per photo:")
    for entry in results:
        top = entry["top"][0]
        print(f"  {Path(entry['source']).name:16s} {top['label']:24s} {top['probability']:.2f}")
    print(f"\noutput files ({time.perf_counter() - start:.0f} s):")
    for path in sorted(OUTPUT.rglob("*")):
        if path.is_file() and "digits" not in path.relative_to(OUTPUT).parts[:1]:
            print(f"  {path}")
    print(f"  {digits}/  (the digits image folder: {metrics['num_images']} test images + train/)")
    if accuracy < MIN_ACCURACY:
        raise SystemExit(f"accuracy {accuracy:.2%} is below the {MIN_ACCURACY:.0%} target")


if __name__ == "__main__":
    main()
