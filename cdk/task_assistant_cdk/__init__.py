"""CDK app for the task assistant: one stack per environment, one construct per concern."""
