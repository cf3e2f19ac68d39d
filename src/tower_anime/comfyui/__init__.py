"""The ComfyUI backend of the stills and clips stages.

spec (what a job asks for) · graph (templates -> checked API graphs) · client (HTTP +
websocket protocol) · servers (one job per server: file locks) · preflight (nodes and models
exist before any job runs) · render (one job: submit, follow, fetch, check, move into place).
Kept free of imports at package level: the story plan imports spec at every Snakemake start.
"""
