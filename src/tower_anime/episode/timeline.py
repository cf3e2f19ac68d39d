"""Where each dialogue line really sits, once its voice's duration is known.

The script gives each line an earliest start (shot start + `at`); a line also waits for the
previous line to end plus a gap, so lines never overlap. The mix and the subtitles both
call this one function, so they cannot disagree.

With voice.grow_shots the plan also gives each line a `slot_end` (from an estimate made at
parse time): a voice that would run past it is sped up (the mix applies `atempo`) by at most
`max_tempo`; a voice too long even then is an error that says what to change.
"""
from ..errors import MediaError

SLACK = 0.002  # seconds: rounding of starts and slot ends, never worth a tempo change


def place_lines(cues, durations):
    """cues: plan.audio_timeline()['lines']; durations: line id -> seconds. Returns placed cues.

    Each placed cue adds start, end and tempo (1.0 unless the line was fitted to its slot).
    """
    placed, prev_end = [], None
    for cue in cues:
        start = cue["earliest"] if cue["earliest"] is not None else cue["shot_start"]
        if prev_end is not None:
            start = max(start, prev_end + cue["gap"])
        start = round(start, 3)
        seconds = durations[cue["line"]]
        tempo = 1.0
        if cue.get("slot_end") is not None:
            room = cue["slot_end"] - start
            if seconds > room + SLACK:
                tempo = seconds / room if room > 0 else float("inf")
                if tempo > cue["max_tempo"]:
                    raise MediaError(
                        f"line {cue['line']} ({cue['text']!r}) takes {seconds:.2f} s but its shot "
                        f"{cue['shot']} leaves {max(room, 0):.2f} s for it, even at {cue['max_tempo']}x speed "
                        f"it would need {seconds / cue['max_tempo']:.2f} s; raise voice.max_tempo, lower "
                        "voice.chars_per_second (longer estimates grow the shot more), or give the shot "
                        "more frames")
                tempo = round(tempo, 4)
                seconds = seconds / tempo
        end = round(start + seconds, 3)
        placed.append({**cue, "start": start, "end": end, "tempo": tempo})
        prev_end = end
    return placed
