"""Benchmarks run by ``dispatch bench ...``: each engine against its named baselines in the same run.

They sit beside the shipped packages, not inside ``api/``: the service never imports them.
"""
