"""Paper-style report from run folders: tables (.md / .csv / .tex), figures (.png / .pdf) and one
self-contained ``index.html`` (``facebench report``). Reads run folders only, never a model.

``runs.py`` loads run folders, ``tables.py`` builds and renders tables, ``figures.py`` draws on
matplotlib axes, ``figure_sets.py`` / ``example_figures.py`` lay the paper's figures out from runs,
``html.py`` renders the page and ``build.py`` (``build_report``) writes everything.
"""
