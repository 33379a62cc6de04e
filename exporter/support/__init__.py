"""Support clocks: the business calendar, deadlines of incidents and service requests,
incidents detected from probe states. Pure; time is passed in."""
