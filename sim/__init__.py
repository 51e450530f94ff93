"""Agent-based simulation of international rule-making competition in AI governance."""

__version__ = "0.1.0"
