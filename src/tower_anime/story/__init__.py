"""The story: loading and checking it (load), and resolving it into job specs (plan)."""

from .load import Story, load_story
from .plan import EpisodePlan, dumps, plan_episode, plan_story
from .source import load_inputs

__all__ = ["Story", "load_story", "EpisodePlan", "dumps", "plan_episode", "plan_story", "load_inputs"]
