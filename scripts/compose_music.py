import json

from tower_anime.audio.music import find_soundfont, render_cue
from tower_anime.scripting import run_step, spec

run_step(snakemake, lambda log: render_cue(spec(snakemake), snakemake.output[0],
                                           find_soundfont(json.loads(snakemake.params.soundfonts)), log=log))
