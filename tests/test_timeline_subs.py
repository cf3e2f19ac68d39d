"""SRT text and chapters: pure functions, no media."""
from tower_anime.episode.chapters import ffmetadata
from tower_anime.episode.subtitles import build_srt, events, split_text, srt_time


def test_srt_format_and_times():
    assert srt_time(3723.4567) == "01:02:03,457"
    srt = build_srt([{"start": 0.4, "end": 2.4, "text": "Go!"}])
    assert srt == "1\n00:00:00,400 --> 00:00:02,400\nGo!\n"


def test_long_lines_wrap_to_42_chars_two_lines_per_event():
    text = "The training logs were rewritten, and someone taught the city AI to lie about every accident."
    parts = split_text(text)
    assert all(len(row) <= 42 for part in parts for row in part.split("\n"))
    assert all(len(part.split("\n")) <= 2 for part in parts)
    evs = events([{"start": 1.0, "end": 5.0, "text": text}])
    assert len(evs) == len(parts) >= 2
    assert evs[0][0] == 1.0 and evs[-1][1] == 5.0
    assert all(a[1] == b[0] for a, b in zip(evs, evs[1:]))  # contiguous, no gaps


def test_chapters_one_per_scene_without_overlap():
    tl = {"fps": 24, "title": "Neon; Conspiracy", "scenes": [
        {"scene": "a", "title": "Night Run", "start_frame": 0, "frames": 109},
        {"scene": "b", "title": "The Lab", "start_frame": 97, "frames": 61}]}
    meta = ffmetadata(tl)
    assert meta.startswith(";FFMETADATA1\ntitle=Neon\\; Conspiracy\n")
    assert meta.count("[CHAPTER]") == 2
    assert "START=0\nEND=4042\ntitle=Night Run" in meta
    assert "START=4042\nEND=6583\ntitle=The Lab" in meta
