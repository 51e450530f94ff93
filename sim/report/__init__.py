"""Plotted reports of runs, sweeps and comparisons, as self-contained HTML folders."""
