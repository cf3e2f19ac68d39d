"""SRT subtitles from placed dialogue lines, within delivery limits (42 chars x 2 lines,
17 characters a second where there is room to show a fast line a little longer)."""
import math
import textwrap

MAX_CHARS = 42
MAX_LINES = 2


def reading_seconds(text, limits):
    """The least time a line's subtitle events need at the reading-speed limit."""
    return len(" ".join(text.split())) / limits["max_chars_per_second"]


def srt_time(seconds):
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def split_text(text, max_chars=MAX_CHARS, max_lines=MAX_LINES):
    """Wrap to max_chars; group into events of at most max_lines lines."""
    rows = textwrap.wrap(" ".join(text.split()), max_chars) or [""]
    return ["\n".join(rows[i:i + max_lines]) for i in range(0, len(rows), max_lines)]


def reading_times(placed, max_cps=None, linger=0.0, min_gap=0.0, lead=0.0):
    """(start, end) of each line's subtitle: its voice's own, unless the text would read
    faster than `max_cps` characters a second. Then it is held on after the voice (at most
    `linger` s) and, if that is not enough, shown up to `lead` s before it, never closer
    than `min_gap` s to the cues around it. A line too fast even then keeps what it got,
    and the episode QC reports its reading speed."""
    times, prev_end = [], None
    for i, cue in enumerate(placed):
        start, end = cue["start"], cue["end"]
        chars = len(" ".join(cue["text"].split()))
        if max_cps and chars / max(end - start, 1e-6) > max_cps:
            # whole milliseconds, rounded outwards: SRT times are in ms and the speed must not creep over
            want = math.ceil(chars / max_cps * 1000) / 1000
            latest = end + linger
            if i + 1 < len(placed):
                latest = min(latest, placed[i + 1]["start"] - min_gap)
            end = max(end, min(start + want, latest))
            if end - start < want:
                earliest = start - lead if prev_end is None else max(start - lead, prev_end + min_gap)
                start = min(start, max(earliest, math.floor((end - want) * 1000) / 1000))
        times.append((start, end))
        prev_end = end
    return times


def events(placed, max_chars=MAX_CHARS, max_lines=MAX_LINES, max_cps=None, linger=0.0, min_gap=0.0, lead=0.0):
    """(start, end, text) per subtitle event; a long line's time is shared by character count."""
    out = []
    for cue, (cue_start, cue_end) in zip(placed, reading_times(placed, max_cps, linger, min_gap, lead)):
        parts = split_text(cue["text"], max_chars, max_lines)
        total = sum(len(p) for p in parts)
        t = cue_start
        for i, part in enumerate(parts):
            end = cue_end if i == len(parts) - 1 else t + (cue_end - cue_start) * len(part) / total
            out.append((t, end, part))
            t = end
    return out


def build_srt(placed, max_chars=MAX_CHARS, max_lines=MAX_LINES, max_cps=None, linger=0.0, min_gap=0.0, lead=0.0):
    blocks = [
        f"{n}\n{srt_time(start)} --> {srt_time(end)}\n{text}\n"
        for n, (start, end, text) in enumerate(events(placed, max_chars, max_lines, max_cps, linger, min_gap, lead), 1)
    ]
    return "\n".join(blocks)


def build_srt_for(placed, settings, fps):
    """build_srt with the `subtitles` config section (the delivery limits the QC checks)."""
    return build_srt(placed, settings["max_chars_per_line"], settings["max_lines"], settings["max_chars_per_second"],
                     settings["linger_seconds"], settings["min_gap_frames"] / fps, settings["lead_frames"] / fps)
