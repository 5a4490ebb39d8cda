"""Settings split base/local/test/production; every value comes from the environment."""
