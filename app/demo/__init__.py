"""The living demo: a demo day that follows the clock, a simulator that plays drivers and customers, a phone page."""
