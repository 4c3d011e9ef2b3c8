"""Small pieces both services share: settings helpers, the JSON error format, health checks.

Neither service imports the other's code; both import this package.
"""
