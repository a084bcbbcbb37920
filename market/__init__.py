"""The market over time (database, rounds, services): see issue "Step 2". Not built yet."""
