"""The page's answers: what the session found, as JSON (docs/web.md has every field), and the
JSON writer that sends them.

Pictures go as RGB bytes in base64 (nn/session/pictures.py makes them, for the window too), and
the 784 numbers of a drawing through `Numbers`, which writes them from a table of texts.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import numpy as np
from flask.json.provider import JSONProvider

from nn.dataset import SIDE
from nn.session.explain import Evidence, Inside
from nn.session.learning import FilterMap, LearningStep, UnitSum
from nn.session.numbers import Number
from nn.session.pictures import as_base64, as_png, evidence_rgb, heat_rgb, ink_rgb, signed_rgb, unit_grid
from nn.session.preprocess import Step
from nn.session.reading import Reading
from nn.session.session import Dreams

if TYPE_CHECKING:  # the photo reader (scipy's image tools) is imported when a photo comes
    from nn.session.photo import PhotoReading


def guess_answer(model: str, number: Number, select: int) -> dict:
    """POST /api/predict: the guess for the digit `select` of what was read (a single digit: the
    only one), its ten probabilities and what the network sees; every digit with its box."""
    reading = number.digits[select].reading
    return {"model": model, **_guess(reading),
            "probabilities": np.round(reading.probabilities.astype(np.float64), 6).tolist(),
            "seen": Numbers(reading.seen), "runner_up": reading.runner_up, "number": number.text,
            "digits": [{**_guess(d.reading), "box": list(d.box)} for d in number.digits], "select": select}


def photo_answer(model: str, photo: PhotoReading) -> dict:
    """POST /api/photo: the number read, its digits (each its guess, probabilities, what the
    network sees, and its box in the photo's pixels), the photo's size, and every step."""
    number = photo.number
    return {"model": model, "number": number.text, "confidence": round(number.confidence, 6),
            "width": photo.picture.size[0], "height": photo.picture.size[1],
            "digits": [{**_guess(d.reading), "box": photo.box(d), "seen": Numbers(d.reading.seen),
                        "probabilities": np.round(d.reading.probabilities.astype(np.float64), 6).tolist()}
                       for d in number.digits],
            "steps": [{"name": step.name, "says": step.says, "picture": as_png(ink_rgb(step.picture))}
                      for step in photo.steps]}


def _guess(reading: Reading) -> dict:
    return {"digit": reading.digit, "confidence": round(reading.confidence, 6),
            "verdict": reading.verdict.replace(" ", "_")}


def inside_answer(inside: Inside, evidence: Evidence, reading: Reading) -> dict:
    """The inside view: every hidden layer, the evidence for a digit, a CNN's feature maps."""
    return {"hidden": [np.round(a, 3).tolist() for a in inside.hidden],
            "hidden_rgb": [as_base64(heat_rgb(unit_grid(a))) for a in inside.hidden],
            "evidence": np.round(evidence.pixels, 4).tolist(), "evidence_for": evidence.digit,
            "evidence_rgb": as_base64(evidence_rgb(evidence.pixels, reading.seen)),
            "evidence_exact": evidence.exact, "score": round(evidence.score, 6),
            "bias": round(evidence.bias, 6), "maps": [feature_maps(m) for m in inside.maps]}


def steps_answer(steps: list[Step]) -> list[dict]:
    """The steps from a drawing to what the network sees, each a picture and its line of why."""
    return [{"name": step.name, "says": step.says, "picture": as_base64(ink_rgb(step.picture))} for step in steps]


def step_answer(step: LearningStep) -> dict:
    """POST /api/step: every number of the learning step, and its pictures as both views show them
    (green: goes up, red: goes down; the hidden error as -dZ, the way each unit is pushed)."""
    if step.filter_change is not None:
        changed, of = [step.filter_change[f] for f in step.units], "filters"
    else:
        changed, of = step.weight_change, "units"
    scale = max((float(np.abs(w).max()) for w in changed), default=1.0)  # one scale for all
    return {"label": step.label, "lr": step.lr, "seen": Numbers(step.seen),
            "loss": [round(v, 6) for v in step.losses],
            "probabilities": [np.round(p, 6).tolist() for p in step.probabilities],
            "output_error": np.round(step.output_error, 6).tolist(),
            "hidden_error": [np.round(e, 6).tolist() for e in step.hidden_error],
            "hidden_error_rgb": [as_base64(signed_rgb(unit_grid(-e))) for e in step.hidden_error],
            "changes_of": of, "units": step.units,
            "changes_rgb": [as_base64(signed_rgb(w, scale)) for w in changed]}


def unit_answer(unit: UnitSum | FilterMap) -> dict:
    """A hidden unit's sum written out (a CNN: a filter and its map), for /api/predict's "unit"."""
    if isinstance(unit, FilterMap):
        return {"kind": "filter", "unit": unit.unit, "weights_rgb": as_base64(signed_rgb(unit.weights)),
                "map_rgb": as_base64(heat_rgb(unit.map)), "bias": round(unit.bias, 6), "lines": unit.written()}
    return {"kind": "unit", "layer": unit.layer, "unit": unit.unit,
            "weights_rgb": as_base64(signed_rgb(unit.weights.reshape(SIDE, SIDE))),
            "terms": [{"pixel": i, "row": i // SIDE, "column": i % SIDE, "weight": round(w, 6), "input": round(x, 6)}
                      for i, w, x in unit.terms],
            "rest": round(unit.rest, 6), "bias": round(unit.bias, 6), "z": round(unit.z, 6), "a": round(unit.a, 6),
            "activation": unit.activation, "lines": unit.written()}


def dream_answer(dreams: Dreams, digit: int | None) -> dict:
    """GET /api/dream: each digit's dream (or one), with the probabilities the network gives it."""
    answers = [{"digit": k, "grid": Numbers(dreams.pictures[k]),
                "probabilities": np.round(dreams.probabilities[k].astype(np.float64), 6).tolist()}
               for k in (range(10) if digit is None else [digit])]
    return answers[0] if digit is not None else {"dreams": answers}


def feature_maps(maps: np.ndarray) -> dict:
    """One convolution's maps (H, W, F) for the page: 19,000 numbers for a 16-32 CNN would take
    100 KB of JSON and 3 ms to write; as bytes of 0-255 in base64, 25 KB and a tenth of that."""
    top = float(maps.max())
    levels = np.round(maps.transpose(2, 0, 1) * (255 / top if top > 0 else 0)).astype(np.uint8)
    return {"filters": int(maps.shape[2]), "side": int(maps.shape[0]), "max": round(top, 4),
            "levels": base64.b64encode(levels.tobytes()).decode("ascii")}


class Numbers:
    """Numbers 0-1 for an answer, written with 4 decimals as a JSON list: `seen`, 784 of them in
    every answer, took 0.21 ms in json.dumps and takes 0.05 ms from a table of the 10,001 texts."""

    TEXTS = [repr(k / 10000) for k in range(10001)]

    def __init__(self, values: np.ndarray):
        self.values = values

    def json(self) -> str:
        steps = np.rint(np.clip(self.values, 0, 1).reshape(-1) * 10000).astype(np.intp).tolist()
        return "[" + ",".join([self.TEXTS[k] for k in steps]) + "]"


class CompactJSON(JSONProvider):
    """Answers as compact JSON, with NaN refused as JSON refuses it. (Flask's own provider took
    0.56 ms more per answer of /api/predict, measured: as long as the network's forward pass.)"""

    def dumps(self, obj, **kwargs) -> str:
        lists: list[Numbers] = []

        def placeholder(value):  # json.dumps' default: a Numbers, written after (below)
            if not isinstance(value, Numbers):
                raise TypeError(f"cannot write {type(value).__name__} as JSON")
            lists.append(value)
            return f"\x00{len(lists) - 1}\x00"

        text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=placeholder)
        for k, numbers in enumerate(lists):
            text = text.replace(f'"\\u0000{k}\\u0000"', numbers.json(), 1)
        return text

    def loads(self, s, **kwargs):
        return json.loads(s)
