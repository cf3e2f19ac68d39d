"""SRT subtitles from placed dialogue lines, within delivery limits (42 chars x 2 lines)."""
import textwrap

MAX_CHARS = 42
MAX_LINES = 2


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


def events(placed, max_chars=MAX_CHARS, max_lines=MAX_LINES):
    """(start, end, text) per subtitle event; a long line's time is shared by character count."""
    out = []
    for cue in placed:
        parts = split_text(cue["text"], max_chars, max_lines)
        total = sum(len(p) for p in parts)
        t = cue["start"]
        for i, part in enumerate(parts):
            end = cue["end"] if i == len(parts) - 1 else t + (cue["end"] - cue["start"]) * len(part) / total
            out.append((t, end, part))
            t = end
    return out


def build_srt(placed, max_chars=MAX_CHARS, max_lines=MAX_LINES):
    blocks = [
        f"{n}\n{srt_time(start)} --> {srt_time(end)}\n{text}\n"
        for n, (start, end, text) in enumerate(events(placed, max_chars, max_lines), 1)
    ]
    return "\n".join(blocks)
