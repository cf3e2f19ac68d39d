# Preflight. At the start of a real run (never a dry run, never when nothing is to be done),
# each backend that declares a preflight hook checks the jobs about to run with it, and when it
# says no, nothing runs (ComfyUI: every graph against every server's node classes, model files
# and dropdown values). A hook rather than a rule with an output file: a file every render job
# depended on would re-render every shot whenever it is re-made, and a file kept between runs
# would stop checking once it exists.
import json

from tower_anime.backends import PendingJob

# the render rules and the stage each renders
RENDER_RULES = {"still": "stills", "clip": "clips", "voice": "voice", "music": "music"}


def pending_by_preflight():
    """{(backend name, its preflight hook): [PendingJob]} of the pending render jobs whose
    backend declares a preflight hook (one backend's stages are checked together)."""
    found = {}
    for job in workflow.dag.needrun_jobs():
        stage = RENDER_RULES.get(job.rule.name)
        if stage is None:
            continue
        spec = json.loads(job.params.spec)
        backend = backends.of_spec(stage, spec)
        if backend.preflight is None:
            continue
        label = f"{job.rule.name} {'/'.join(job.wildcards)}"
        found.setdefault((backend.name, backend.preflight), []).append(
            PendingJob(stage, spec, dict(job.input.items()), label))
    return found


def schedule(jobs):
    """What the scheduler was given: the gpu limit, the subsample and how many jobs are pending."""
    gpu = workflow.global_resources.get("gpu") if "gpu" in workflow.global_resources else None
    return {"gpu": getattr(gpu, "value", None), "subsample": workflow.scheduling_settings.subsample,
            "pending": len(jobs)}


onstart:
    for (name, preflight), jobs in pending_by_preflight().items():
        if not preflight(jobs, config, f"logs/{name}/preflight.log", schedule(jobs)):
            sys.exit(1)
