"""Batch experiments: experiment files, designs, executors, streamed output, analysis."""
