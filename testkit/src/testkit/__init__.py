"""What every test suite of the platform shares: free ports, servers started and awaited, fresh stores, fuzzing.

Installed by `make install`; one module per idea, imported by name (`from testkit.ports import free_port`).
"""
