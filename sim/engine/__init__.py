"""The engine: model time, the world's arrays, norm geometry, the pull/credit engine and the
event log. It knows no mechanism: the paths, forums, influence, policies and powers above it
hand it their pulls and read its arrays."""
