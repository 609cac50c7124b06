"""The operators' app (docs/architecture.md §6.6): `streamlit run streamlit_app/app.py`.

Thin on purpose: the repo root goes on the import path (so `shared` and `streamlit_app` import
however the app is started), then `streamlit_app.main` logs the operator in and routes pages.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from streamlit_app.main import main  # noqa: E402

main()
