"""The review room (`tower-anime review`): a local web page to look at an episode by scene,
judge it, edit the story and rebuild.

The pieces below the web server are plain functions and classes (edits of the story with their
diffs and conflicts, the page's data, the build's dry run and progress), so they are tested
without a browser; only review/server.py imports aiohttp. Nothing in the workflow imports this
package: the workflow builds an episode without the web stack."""
