"""The source papers' claims (MODEL.md s.8) as replicated, paired experiments with effect
sizes, confidence intervals, verdicts, and a scan of where each claim holds."""
