"""The modes, one package each: ``predict/``, ``train/``, ``evaluate/``, ``export/``, ``benchmark``.

Imports point down only: ``benchmark``, ``evaluate``, ``export`` and ``train`` may use ``predict``;
``predict`` uses none of them (see ARCHITECTURE.md and ``tests/test_import_cycles.py``).
"""
