"""What every flow shares: resources, parameter types, the journal, events, webhooks, logging."""
