# ComfyUI preflight. At the start of a real run (never a dry run, never when nothing is to be
# done), the still and clip jobs about to run with the comfyui backend are rendered to graphs
# and checked against every server in comfyui.servers: node classes, model files, dropdown
# values. What is missing is listed and nothing runs. A hook rather than a rule with an output
# file: a file every GPU job depended on would re-render every shot whenever it is re-made,
# and a file kept between runs would stop checking the server once it exists.
import json


def comfyui_jobs():
    """(stage, spec, workflow template, label) of each pending comfyui still/clip job."""
    stages = {"still": "still", "clip": "clip"}
    for job in workflow.dag.needrun_jobs():
        stage = stages.get(job.rule.name)
        if stage is None:
            continue
        spec = json.loads(job.params.spec)
        if spec.get("backend") == "comfyui":
            yield stage, spec, job.input.workflow, f"{stage} {job.wildcards.ep}/{job.wildcards.shot}"


def comfyui_on_submit_host(stage):
    """comfyui.job_host: submit-host: a stage's comfyui jobs are local jobs under a cluster
    executor. With a pool of servers they only talk to the servers over the network, so they
    need no cluster GPU (the SLURM executor turns `gpu=1` into --gpus=1, which a pool client
    must not ask for), and --resources gpu=<servers> holds them to one per server."""
    return config["backends"][stage] == "comfyui" and config["comfyui"]["job_host"] == "submit-host"


def comfyui_schedule(jobs):
    """What the scheduler was given: the gpu limit and the subsample (see profiles/comfyui)."""
    gpu = workflow.global_resources.get("gpu") if "gpu" in workflow.global_resources else None
    return {"gpu": getattr(gpu, "value", None), "subsample": workflow.scheduling_settings.subsample,
            "pending": len(jobs)}


onstart:
    from tower_anime.comfyui.preflight import run_preflight

    pending = list(comfyui_jobs())
    if not run_preflight(pending, config, "logs/comfyui/preflight.log", comfyui_schedule(pending)):
        sys.exit(1)
