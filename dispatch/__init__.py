"""Shuttle fleet dispatch (dial-a-ride) around an OR-Tools routing core."""
