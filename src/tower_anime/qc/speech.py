"""Dialogue checks measured on the delivered dialogue stem, against the script's shots.

Speech is found in the stem itself (10 ms frames louder than a floor), not read from the
placement, so a line the mix put in the wrong shot, or cut at the end of the picture, is
caught even when the plan is right. The script's side is each shot's own span (after a
crossfade into it, before a crossfade out of it) and which shots have lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .report import check

if TYPE_CHECKING:
    import numpy as np

HOP = 0.01  # seconds per analysis frame
FLOOR_DBFS = -55.0  # a frame louder than this RMS holds speech: the stem is digital silence between lines
END_SECONDS = 0.05  # the last stretch of the picture that must be silent: speech there was cut off


def active_frames(samples: np.ndarray, rate: int) -> np.ndarray:
    """Per HOP frame: True where the RMS is above FLOOR_DBFS."""
    import numpy as np  # here: the planner reads this module's constants (episode/placement.py)

    hop = max(1, int(rate * HOP))
    n = len(samples) // hop  # 0 for less than one frame: an empty result, no special case
    frames = samples[: n * hop].reshape(n, hop).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-12)) > FLOOR_DBFS


def speech_checks(samples: np.ndarray, rate: int, placed: list[dict], picture_seconds: float) -> tuple[list, dict]:
    """Checks of where speech is in the stem: inside the shots that have lines, none cut at the end.

    placed: the placement's lines (each with its shot and the shot's `window`)."""
    import numpy as np

    active = active_frames(samples, rate)
    times = (np.arange(len(active)) + 0.5) * HOP
    windows: dict[str, list] = {}
    expected: dict[str, float] = {}
    for cue in placed:
        windows.setdefault(cue["shot"], cue["window"])
        expected[cue["shot"]] = expected.get(cue["shot"], 0.0) + cue["voice_seconds"] / cue.get("tempo", 1.0)
    inside = np.zeros(len(active), dtype=bool)
    checks = []
    for shot, (start, end) in windows.items():
        mine = (times >= start) & (times <= end)
        inside |= mine
        heard = float(np.count_nonzero(active & mine)) * HOP
        # a line's voice has pauses between words: half its length heard is plainly "there"
        checks.append(check(f"speech_in_shot[{shot}]", round(heard, 2), ">=", round(expected[shot] / 2, 2), "s"))
    stray = float(np.count_nonzero(active & ~inside)) * HOP
    checks.append(check("speech_outside_its_shots", round(stray, 2), "<=", HOP, "s"))
    tail = active[times >= picture_seconds - END_SECONDS]
    checks.append(check("speech_cut_at_end", round(float(np.count_nonzero(tail)) * HOP, 2), "==", 0.0, "s"))
    samples_expected = round(picture_seconds * rate)
    checks.append(check("dialogue_stem_samples_off_picture", abs(len(samples) - samples_expected), "==", 0, "samples"))
    return checks, {
        "speech_seconds": round(float(np.count_nonzero(active)) * HOP, 2),
        "speech_outside_its_shots_seconds": round(stray, 2),
    }
