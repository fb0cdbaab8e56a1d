"""`make demo`: the offline tour of what visiona does today.

1. Writes skimage's sample photos (cat, coffee, astronaut, rocket, ...) as JPEG files.
2. Classifies them with the default EfficientNet-Lite0 (real ImageNet weights, offline) through
   the real `visiona` CLI, saving annotated copies and a JSON file of results.
3. Classifies only the centre of each photo (`--roi center:0.5`), as the course's live demo does.
4. Prints where every output file is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

OUTPUT = Path(os.environ.get("VISIONA_DEMO_DIR", "demo_output")).resolve()
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera")


def write_sample_photos(folder: Path) -> list[Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in PHOTOS:
        loader = getattr(data, name, None)
        if loader is None:
            continue
        path = folder / f"{name}.jpg"
        Image.fromarray(loader()).convert("RGB").save(path, quality=92)
        paths.append(path)
    return paths


def visiona(*args: str, echo: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real CLI offline; show its output unless ``echo`` is off."""
    command = [sys.executable, "-m", "visiona", *args]
    env = {**os.environ, "VISIONA_OFFLINE": "1"}
    print("$ visiona " + " ".join(args), flush=True)
    done = subprocess.run(command, text=True, capture_output=True, env=env)
    if echo or done.returncode != 0:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"demo step failed with exit code {done.returncode}")
    return done


def main() -> None:
    start = time.perf_counter()
    photos = write_sample_photos(OUTPUT / "photos")
    print(f"wrote {len(photos)} sample photos to {OUTPUT / 'photos'}\n")

    visiona("predict", "classify", str(OUTPUT / "photos"), "--top-k", "3",
            "--save", str(OUTPUT / "classified"))  # fmt: skip
    listing = visiona("predict", "classify", str(OUTPUT / "photos"), "--json", echo=False)
    results = json.loads(listing.stdout)
    results_file = OUTPUT / "classify.json"
    results_file.write_text(json.dumps(results, indent=2))
    visiona("predict", "classify", str(OUTPUT / "photos" / "chelsea.jpg"), "--roi", "center:0.5",
            "--top-k", "3", "--save", str(OUTPUT / "classified_roi"))  # fmt: skip

    print("\nsummary (top-1 per photo):")
    for entry in results:
        top = entry["top"][0]
        print(f"  {Path(entry['source']).name:22s} {top['label']:24s} {top['probability']:.2f}")
    print(f"\noutputs (in {time.perf_counter() - start:.1f} s):")
    for path in sorted(OUTPUT.rglob("*")):
        if path.is_file():
            print(f"  {path}")


if __name__ == "__main__":
    main()
