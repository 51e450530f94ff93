# Convenience wrappers around dev.py (which needs only Python 3.11+).
.PHONY: run test check bench lock
run:
	python3 dev.py run
test:
	python3 dev.py test
check:
	python3 dev.py check
bench:
	python3 dev.py bench
lock:
	python3 dev.py lock
