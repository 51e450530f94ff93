"""The technology powers of seed 002 and Japan's co-creation (seed 001), as levers: one
module per lever type (its scenario spec and its runtime), the AI stack they act through
(`stack`), the hooks every lever has (`lever`) and the table of lever types (`registry`)."""
