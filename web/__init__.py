"""The Flask front end: see issue "Step 3". Not built yet."""
