"""The music stage: one cue per scene from the scene's music backend (backends/: fluidsynth
composes and renders it here, http asks the user's music service and fits its answer)."""
from .. import backends


def make_cue(spec, out_wav, soundfonts=None, transport=None, log=None, **runtime):
    """Write the scene's cue to `out_wav`: exactly spec["duration"] seconds, 48 kHz stereo."""
    backend = backends.get("music", spec["backend"])
    backend.render(spec, out_wav, log=log, soundfonts=soundfonts, transport=transport, **runtime)
