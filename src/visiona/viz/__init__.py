"""Plots written as PNG files: confusion matrices, image grids, training curves, LR-finder curves.

Everything renders with matplotlib's Agg canvas on a fresh ``Figure`` (no pyplot, no global
backend switch), so plotting works headless and never touches a user's interactive session.
"""
