"""The tables bayeslaws ships: installed as the package data of ``bayeslaws.bundled`` (see
README.md here and ``bayeslaws/runs/bundled.py``)."""
