"""The wire formats AI deployments speak, each over the orchestration service's one
httpx client."""
