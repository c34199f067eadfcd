"""The fleet: reconcile the store with Novita, the fleet table, webhook redelivery."""
