"""Probing: the HTTP prober, result classification, connectivity canaries, the live
recorder of results, sharding of the fleet."""
