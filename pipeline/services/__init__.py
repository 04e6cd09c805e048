"""The use cases: what the command line, the scheduler and the web console each call, taking
the store, the settings, the time and who acts, and returning plain results."""
