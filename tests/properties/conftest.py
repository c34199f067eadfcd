"""The property tests start nothing; the one integration test of `test_flow_parameters.py`
uses the session's Prefect test server and simulator (`tests/live_servers.py`).
"""
