"""The only network IO: connections, requests, retries, the page chain, date slices, diagnosis."""
