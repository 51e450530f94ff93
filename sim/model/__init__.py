"""The model: a scenario compiled into the world's arrays (`build`), the timeline of
scheduled events (`timeline`), the step that composes the mechanisms (`core`), the Mesa
agents that give it a readable face (`agents`) and the recorded outputs (`recorder`)."""

from sim.model.core import RecorderView, RuleMakingModel

__all__ = ["RecorderView", "RuleMakingModel"]
