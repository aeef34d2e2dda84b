"""rulelint: a corpus-aware linter for Sigma, Elastic and Splunk detection rules."""

__version__ = "0.2.0"
