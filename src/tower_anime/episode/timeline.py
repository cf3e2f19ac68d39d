"""Where each dialogue line really sits, once its voice's duration is known.

The script gives each line an earliest start (shot start + `at`); a line also waits for the
previous line to end plus a gap, so lines never overlap. The mix and the subtitles both
call this one function, so they cannot disagree.
"""


def place_lines(cues, durations):
    """cues: plan.audio_timeline()['lines']; durations: line id -> seconds. Returns placed cues."""
    placed, prev_end = [], None
    for cue in cues:
        start = cue["earliest"] if cue["earliest"] is not None else cue["shot_start"]
        if prev_end is not None:
            start = max(start, prev_end + cue["gap"])
        start = round(start, 3)
        end = round(start + durations[cue["line"]], 3)
        placed.append({**cue, "start": start, "end": end})
        prev_end = end
    return placed
