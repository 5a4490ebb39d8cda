"""`python -m bench.run` (make bench): the catalog, orders and capacity benchmarks, then every table."""

from __future__ import annotations

from bench import capacity, catalog, orders
from bench.common import (
    ROOT,
    Stack,
    install_signal_handlers,
    interrupt_message,
    machine_info,
    machine_line,
    require_services,
    say,
    warn_if_no_wrk,
    write_result,
)


def main() -> int:
    install_signal_handlers()
    services = require_services()
    warn_if_no_wrk()
    info = machine_info()
    with interrupt_message():
        # One stack per part: each part's servers are gone before the next part starts.
        with Stack() as stack:
            catalog_data = catalog.run(stack, services)
        with Stack() as stack:
            orders_data = orders.run(stack, services)
        with Stack() as stack:
            capacity_data = capacity.run(stack, services)
    print()
    print(machine_line(info))
    print()
    print(catalog.render(catalog_data["scales"]))
    print(orders.render(orders_data))
    print(capacity.render(capacity_data))
    path = write_result("run", {"machine": info, "catalog": catalog_data, "orders": orders_data,
                                "capacity": capacity_data})
    say(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
