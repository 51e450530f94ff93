"""`sim explore`: a local, offline web app (Solara) to play with a scenario."""
