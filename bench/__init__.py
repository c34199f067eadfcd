"""Benchmarks of the "fleet scale" issue: `python -m bench <name> [--quick] [--runs N]`.

Four benchmarks, each printing a table and writing JSON under `bench/results/`:

- `overhead`: one provisioning, bare client script vs the project's paths (flow called from
  Python, served deployment, worker-run deployment);
- `fleet`: 100 provisionings against a Novita allowing 20 requests/s, at several
  concurrencies, on a SQLite-backed server and on PostgreSQL with 1 and 3 workers;
- `seed-style`: 100 creates without waiting under a 100 calls/minute budget;
- `sweep`: the sweeps over 10,000 managed instances (wall time, list calls, peak RSS).

Every measured setup runs against the bundled simulator in its own process and ONE Prefect
server per setup (free port, private `PREFECT_HOME`); everything started is stopped on exit.
The figures that matter are kept in `BENCHMARKS.md`; `bench/results/` is scratch output.
"""
