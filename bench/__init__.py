"""Benchmarks (measured programs that print tables; not tests).

    make bench            # python -m bench.run: catalog + orders
    make bench-catalog    # python -m bench.catalog

See docs/performance.md for the set-up and the latest figures.
"""
