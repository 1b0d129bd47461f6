"""Publishing the report to GitHub: where it goes, the sticky comment, plots, retries."""
