"""The flow fixtures of tests/flows (Prefect test server, simulator, environment), reused here.

Only the integration test of `test_flow_parameters.py` uses them; the property tests start
nothing.
"""

from tests.flows.conftest import flow_env, flow_sim, prefect_server, sim  # noqa: F401
