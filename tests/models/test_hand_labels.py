"""Hand labels (Left/Right = the person's own hand) from MediaPipe's mirrored-selfie handedness.

No positive real-photo test here: no installed package ships a photo with a visible hand
(skimage's, matplotlib's and scikit-learn's sample photos were all tried: MediaPipe Hands finds
none in them), so the real model is only checked on photos without hands
(tests/models/test_mediapipe_landmarks.py). What visiona adds on top of MediaPipe — pixel
coordinates and the Left/Right swap — is tested here with a stand-in graph that labels a drawn
hand the way MediaPipe does, so it runs without mediapipe installed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageOps

from visiona.models.mediapipe_models import HandLandmarker
from visiona.results.skeletons import HAND_NAMES

WRIST, THUMB_TIP, PINKY_TIP = 0, 4, 20
COLOURS = {WRIST: (0, 255, 0), THUMB_TIP: (255, 0, 0), PINKY_TIP: (0, 0, 255)}


class MirroredSelfieGraph:
    """Finds the three coloured dots of a drawn hand and labels its handedness like MediaPipe:
    as if the image were a mirrored selfie (a palm with the thumb on the image's left reads as
    MediaPipe's "Left"; in an ordinary photo that is the person's right hand)."""

    def process(self, image: np.ndarray) -> SimpleNamespace:
        height, width = image.shape[:2]
        found = {}
        for index, colour in COLOURS.items():
            ys, xs = np.nonzero(np.all(image == colour, axis=2))
            found[index] = (xs.mean() / width, ys.mean() / height)
        marks = []
        for k in range(len(HAND_NAMES)):
            x, y = found.get(k, found[WRIST])
            marks.append(SimpleNamespace(x=x, y=y, z=0.0))
        label = "Left" if found[THUMB_TIP][0] < found[PINKY_TIP][0] else "Right"
        best = SimpleNamespace(label=label, score=0.9)
        return SimpleNamespace(
            multi_hand_landmarks=[SimpleNamespace(landmark=marks)],
            multi_handedness=[SimpleNamespace(classification=[best])],
        )


def landmarker(mirrored: bool) -> HandLandmarker:
    model = object.__new__(HandLandmarker)  # the real wrapper around a stand-in graph
    model.name, model.mirrored, model._solution = (
        "mediapipe_hands.full",
        mirrored,
        MirroredSelfieGraph(),
    )
    return model


def drawn_hand(width: int = 120, height: int = 80) -> np.ndarray:
    """A palm facing the camera: wrist at the bottom, thumb tip left, pinky tip right."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    for index, (x, y) in {WRIST: (60, 70), THUMB_TIP: (20, 30), PINKY_TIP: (100, 20)}.items():
        image[y - 2 : y + 3, x - 2 : x + 3] = COLOURS[index]
    return image


def test_an_ordinary_photo_names_the_persons_own_hand() -> None:
    photo = drawn_hand()
    hands = landmarker(mirrored=False)(photo)
    # MediaPipe reads this palm as "Left" (mirrored-selfie view); in a photo it is the right hand.
    assert (
        MirroredSelfieGraph().process(photo).multi_handedness[0].classification[0].label == "Left"
    )
    assert hands.labels == ("Right",)
    assert hands.points.shape == (1, 21, 3)
    np.testing.assert_allclose(hands.points[0, THUMB_TIP, :2], (20, 30))  # pixels, not 0..1
    np.testing.assert_allclose(hands.points[0, PINKY_TIP, :2], (100, 20))


@pytest.mark.parametrize("hand", ["photo", "mirrored photo"])
def test_a_mirrored_webcam_frame_names_the_same_hand(hand: str) -> None:
    photo = drawn_hand()
    if hand == "mirrored photo":  # the other hand, photographed the same way
        photo = np.asarray(ImageOps.mirror(Image.fromarray(photo)))
    frame = np.asarray(ImageOps.mirror(Image.fromarray(photo)))  # what a selfie webcam shows
    from_photo = landmarker(mirrored=False)(photo)
    from_frame = landmarker(mirrored=True)(frame)
    assert from_photo.labels == from_frame.labels  # the same person's same hand
    assert from_photo.labels == (("Right",) if hand == "photo" else ("Left",))
    width = photo.shape[1]
    np.testing.assert_allclose(
        from_frame.points[0, :, 0], width - 1 - from_photo.points[0, :, 0], atol=1e-6
    )
    # Without saying the frame is mirrored, the label flips: the swap is what makes it right.
    assert landmarker(mirrored=False)(frame).labels != from_photo.labels
