"""GitHub: where a report goes, the sticky comment, plot publishing, retries, open pull requests."""
