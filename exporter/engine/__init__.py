"""Pure calculation: interval sets, months, durations, maintenance windows, probe and
tenant states, the availability formula. No I/O; time is passed in."""
