# Preflight. At the start of a real run (never a dry run, never when nothing is to be done),
# each backend that declares a preflight hook checks the jobs about to run with it, and when it
# says no, nothing runs (ComfyUI: every graph against every server's node classes, model files
# and dropdown values). A hook rather than a rule with an output file: a file every render job
# depended on would re-render every shot whenever it is re-made, and a file kept between runs
# would stop checking once it exists.
onstart:
    for (name, preflight), jobs in pending_by_preflight().items():
        if not preflight(jobs, config, f"logs/{name}/preflight.log", schedule(jobs)):
            sys.exit(1)
