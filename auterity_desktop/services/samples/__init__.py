"""The dealership sample pack: workflows, an event log, a data set and a monitored model,
for the first-run experience, the user guide and anyone who wants a working start."""
