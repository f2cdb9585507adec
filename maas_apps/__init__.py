"""What users run: the ``maas`` command (``cli``), the web app's logic (``webapp``; ``app.py`` lays it
out with Streamlit) and ``maas area init`` (``area_init``). The top layer: see docs/architecture.md."""
