"""Input folder layouts -> :class:`SampleRecord` lists: studio captures, 300-W and 300-VW.

Each ingester reads every landmark file and every image / video header of its folder and refuses
bad input (a :class:`~facebench.errors.FacebenchError` naming the file) before prepare writes
anything. Landmarks come out 0-based in source-image pixels (see :mod:`facebench.geometry`).
"""

from facebench.ingest.records import Ingested, SampleRecord
from facebench.ingest.studio import ingest_studio
from facebench.ingest.vw300 import ingest_300vw
from facebench.ingest.w300 import ingest_300w

__all__ = ["Ingested", "SampleRecord", "ingest_300vw", "ingest_300w", "ingest_studio"]
