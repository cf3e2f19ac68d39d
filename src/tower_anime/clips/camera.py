"""The embedded clips backend: an FFmpeg camera move over the shot's still.

zoompan rounds its crop window to whole pixels, which jitters visibly on slow moves;
scaling the still up 4x first makes one source pixel a quarter of an output pixel
(measured: 0.8 s per 121-frame 768x512 clip on 2 cores, see ../shared/media-notes.md).
"""
from ..errors import MediaError
from ..fsutil import atomic_path
from ..media import ffmpeg

UPSCALE = 4
ZOOM = 0.15  # how far a push-in/pull-out/pan travels: 15 % of the frame


def _ease(n_last):
    """Smoothstep progress 0..1 over output frames, as an FFmpeg expression of `on`."""
    p = f"(on/{n_last})"
    return f"({p}*{p}*(3-2*{p}))"


def move_expressions(move, frames):
    """zoompan z/x/y expressions for a camera move over `frames` output frames."""
    e = _ease(max(frames - 1, 1))
    center_x, center_y = "iw/2-(iw/zoom/2)", "ih/2-(ih/zoom/2)"
    if move == "static":
        return {"z": "1", "x": "0", "y": "0"}
    if move == "push_in":
        return {"z": f"1+{ZOOM}*{e}", "x": center_x, "y": center_y}
    if move == "pull_out":
        return {"z": f"1+{ZOOM}*(1-{e})", "x": center_x, "y": center_y}
    if move in ("pan_left", "pan_right"):
        # the camera pans right = the window slides from the left edge to the right edge
        travel = f"(iw-iw/zoom)*{e}" if move == "pan_right" else f"(iw-iw/zoom)*(1-{e})"
        return {"z": f"{1 + ZOOM}", "x": travel, "y": center_y}
    raise MediaError(f"unknown camera move {move!r}; expected static, push_in, pull_out, pan_left or pan_right")


def camera_filter(move, frames, width, height, fps, hold_bottom=0):
    """filter_complex from input 0 (the still) to [out]; the bottom `hold_bottom` px stay put."""
    ex = move_expressions(move, frames)
    moving = (
        f"scale={width * UPSCALE}:{height * UPSCALE}:flags=lanczos,"
        f"zoompan=z='{ex['z']}':x='{ex['x']}':y='{ex['y']}':d={frames}:s={width}x{height}:fps={fps},"
        "setsar=1"
    )
    if not hold_bottom:
        return f"[0:v]{moving},format=yuv420p[out]"
    return (
        f"[0:v]split=2[bg][cap];[bg]{moving}[moved];"
        f"[cap]crop={width}:{hold_bottom}:0:{height - hold_bottom}[strip];"
        # the one-frame strip is repeated over every frame of the move
        f"[moved][strip]overlay=0:{height - hold_bottom}:eof_action=repeat,format=yuv420p[out]"
    )


def render_camera_clip(spec, still_path, out_path, log=None, crf=18, preset="veryfast"):
    """Write an H.264 clip of exactly spec['frames'] frames at spec['fps']."""
    still = spec["still"]
    graph = camera_filter(still["camera"]["move"], spec["frames"], still["width"], still["height"], spec["fps"],
                          spec.get("hold_bottom", 0))
    with atomic_path(out_path) as tmp:
        ffmpeg(["-i", still_path, "-filter_complex", graph, "-map", "[out]", "-frames:v", str(spec["frames"]),
                "-r", str(spec["fps"]), "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-an", tmp],
               f"camera move for shot {still['shot']}", log)
