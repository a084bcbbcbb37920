"""Swarm Market's clearing engine: market files in, optimal verified allocations out."""
