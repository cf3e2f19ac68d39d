"""Finishing in an editor: the episode as an OpenTimelineIO timeline (and FCP 7 XML / CMX 3600
EDL through OTIO's adapters), the conform that rebuilds the picture from it, and the way back
from an edited timeline into the story."""
