"""The PostgreSQL schema: written only by the storage worker, read by the gateway."""
