# Convenience wrappers around dev.py (which needs only Python 3.11+).
.PHONY: run test bench lint
run:
	python3 dev.py run
test:
	python3 dev.py test
bench:
	python3 dev.py bench
