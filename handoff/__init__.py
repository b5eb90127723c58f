"""Human handoff: the policy that hands the conversation over, the bridge and the agent queue."""
