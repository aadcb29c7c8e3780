"""The transform wing: one event in, one outcome out; pure, no I/O, the clock passed in."""
