"""The HTTP edge and the process: the app factory, its routes, admission and start-up."""
