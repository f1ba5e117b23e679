"""Input folder layouts -> :class:`~facebench.data.ingest.records.SampleRecord` lists: studio
captures (``studio``), 300-W (``w300``) and 300-VW (``vw300``).

Each ingester reads every landmark file and every image / video header of its folder and refuses
bad input (a :class:`~facebench.core.errors.FacebenchError` naming the file) before prepare writes
anything. Landmarks come out 0-based in source-image pixels (see :mod:`facebench.core.geometry`).
"""
