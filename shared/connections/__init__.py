"""Connections to the outside services, tested on demand: is each one reachable with what is set?"""
